//! `examples/http_server` on a loopback port of its own choosing, exporting to a
//! receiver, for the tests over streamable HTTP.

use super::otlp::Receiver;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// `examples/http_server` on a loopback port, exporting spans and metrics to a receiver.
pub struct HttpServer {
    child: std::process::Child,
    pub url: String,
    drain: std::thread::JoinHandle<String>,
}

impl HttpServer {
    pub fn start(receiver: &Receiver) -> Self {
        let binary = super::example_binary("http_server");
        assert!(
            binary.exists(),
            "build the example first: {}",
            binary.display()
        );
        let mut command = Command::new(&binary);
        let mut child = super::export_to(&mut command, &receiver.endpoint())
            .env_remove("OTEL_METRICS_EXPORTER")
            .args(["--listen", "127.0.0.1:0"])
            .env("OTEL_SERVICE_NAME", "e2e-http")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("http server starts");
        // The server announces its address on stderr; keep draining it afterwards.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let url = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "server exited early"
            );
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        let drain = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
            rest
        });
        Self { child, url, drain }
    }

    /// Stops the server gracefully; it exports every span before exiting.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("server exits");
        let stderr = self.drain.join().unwrap();
        assert!(status.success(), "server status {status}: {stderr}");
    }
}

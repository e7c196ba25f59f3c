//! The example MCP server on rmcp, traced: five tools (two of which talk back to the
//! client while they work: `confirm_action` asks the user through
//! `elicitation/create` (from 2026-07-28, by answering `input_required`: a multi-round
//! request), `build_report` sends progress and log notifications, or runs as a task for a client
//! that takes tasks), the
//! `docs://{page}` resource template and one prompt, `summarize`. Served over stdio by `stdio_server` and over streamable HTTP by
//! `http_server`.

use mcp_trace::{traced_resource, traced_tool};
use rmcp::handler::server::tool::InputResponses;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock, CreateTaskResult,
    ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, GetTaskParams, GetTaskResult,
    Implementation, InputRequest, InputRequiredResult, ListResourceTemplatesResult,
    PaginatedRequestParams, ProgressNotificationParam, PromptMessage, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ResourceContents,
    ResourceTemplate, Role, ServerCapabilities, ServerConfig,
};
#[allow(deprecated)]
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::task_manager::{TaskManager, TaskOptions};
use rmcp::{ErrorData as McpError, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// What to look for.
    pub query: String,
    /// How many results to return.
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// Filters such as `lang:rust`.
    #[serde(default)]
    pub filters: Vec<String>,
}

/// The key of `confirm_action`'s question in a multi-round request.
const CONFIRM_KEY: &str = "confirm";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct IssueArgs {
    pub title: String,
    pub body: String,
    /// 1 (urgent) to 5 (someday).
    #[schemars(range(min = 1, max = 5))]
    pub priority: u8,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct QueryArgs {
    /// A read-only SQL statement.
    pub sql: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ConfirmArgs {
    /// What is about to be done.
    pub action: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReportArgs {
    /// How many sections, 1 to 20.
    #[schemars(range(min = 1, max = 20))]
    pub sections: u32,
}

const PAGES: [&str; 4] = ["intro", "setup", "api", "faq"];

#[derive(Clone, Default)]
pub struct DocsServer;

#[tool_router]
impl DocsServer {
    /// Search documents by query string.
    #[traced_tool]
    #[tool]
    async fn search_documents(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, McpError> {
        let limit = args.limit.unwrap_or(5).min(100) as usize;
        let hits = PAGES
            .iter()
            .filter(|p| args.query.contains(*p) || args.filters.iter().any(|f| f.ends_with(*p)))
            .take(limit)
            .map(|p| ContentBlock::text(format!("docs://{p}")));
        let hits: Vec<ContentBlock> = hits.collect();
        // A log record carrying this call's span ids (the `logs` feature); never the
        // query itself.
        tracing::info!(hits = hits.len(), "searched the documents");
        Ok(CallToolResult::success(hits))
    }

    /// Open an issue in the tracker.
    #[traced_tool]
    #[tool]
    async fn create_issue(
        &self,
        Parameters(args): Parameters<IssueArgs>,
    ) -> Result<CallToolResult, McpError> {
        if args.title.trim().is_empty() {
            return Ok(CallToolResult::error(vec![ContentBlock::text(
                "an issue needs a title",
            )]));
        }
        let number = 1000 + args.title.len() + args.body.len() % 100 + usize::from(args.priority);
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "opened issue #{number}"
        ))]))
    }

    /// Run a read-only SQL query.
    #[traced_tool]
    #[tool]
    async fn run_query(
        &self,
        Parameters(args): Parameters<QueryArgs>,
    ) -> Result<CallToolResult, McpError> {
        if !args
            .sql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("SELECT")
        {
            return Err(McpError::invalid_params(
                "only SELECT statements are allowed",
                None,
            ));
        }
        Ok(CallToolResult::success(vec![ContentBlock::text("1 row")]))
    }

    /// Ask the user to confirm an action before it is taken.
    #[traced_tool]
    #[tool]
    async fn confirm_action(
        &self,
        Parameters(args): Parameters<ConfirmArgs>,
        InputResponses(answers): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let question = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: format!("Go ahead with: {}?", args.action),
            requested_schema: ElicitationSchema::builder().build_unchecked(),
        };
        let modern = context
            .protocol_version()
            .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        let accepted = if modern {
            // 2026-07-28: the question goes back in the answer (`input_required`), and
            // the client calls again with the user's answer (a multi-round request).
            let Some(answer) = answers.as_ref().and_then(|a| a.get(CONFIRM_KEY)) else {
                let requests = [(
                    CONFIRM_KEY.to_owned(),
                    InputRequest::Elicitation(ElicitRequest::new(question)),
                )];
                return Ok(CallToolResponse::InputRequired(InputRequiredResult::new(
                    Some(requests.into_iter().collect()),
                    Some("awaiting-confirmation".to_owned()),
                )));
            };
            answer.get("action").and_then(|a| a.as_str()) == Some("accept")
        } else {
            // Before 2026-07-28: the server asks the client while the call waits.
            match context.peer.create_elicitation(question).await {
                Ok(answer) => answer.action == ElicitationAction::Accept,
                Err(_) => {
                    return Ok(CallToolResult::error(vec![ContentBlock::text(
                        "the client could not be asked",
                    )])
                    .into());
                }
            }
        };
        let text = if accepted {
            "confirmed"
        } else {
            "not confirmed"
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }

    /// Build a report section by section, reporting progress and logging as it goes.
    #[traced_tool]
    #[tool]
    #[allow(deprecated)] // MCP logging: deprecated in 2026-07-28, still spoken.
    async fn build_report(
        &self,
        Parameters(args): Parameters<ReportArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let sections = args.sections.clamp(1, 20);
        // A client that takes tasks (the tasks extension) gets one: the report is
        // built in the background, and the client polls `tasks/get` for it.
        if context
            .client_capabilities()
            .is_some_and(|capabilities| capabilities.supports_tasks())
        {
            let task = tasks().spawn(TaskOptions::new(), move |_task| {
                Box::pin(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(sections)))
                        .await;
                    Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                        "report with {sections} sections"
                    ))]))
                })
            });
            return Ok(CallToolResponse::Task(CreateTaskResult::new(task)));
        }
        let token = context.meta.get_progress_token();
        for section in 1..=sections {
            let log = LoggingMessageNotificationParam::new(
                LoggingLevel::Info,
                serde_json::json!({"section": section, "of": sections}),
            )
            .with_logger("build_report");
            // A client that hung up misses the news; the report goes on.
            let _ = context.peer.notify_logging_message(log).await;
            if let Some(token) = &token {
                let progress = ProgressNotificationParam::new(token.clone(), f64::from(section))
                    .with_total(f64::from(sections));
                let _ = context.peer.notify_progress(progress).await;
            }
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "report with {sections} sections"
        ))])
        .into())
    }
}

/// The tasks `build_report` runs for clients that take tasks.
fn tasks() -> &'static TaskManager {
    static TASKS: std::sync::OnceLock<TaskManager> = std::sync::OnceLock::new();
    TASKS.get_or_init(TaskManager::new)
}

/// One page of the product documentation.
#[traced_resource(uri = "docs://{page}", name = "docs")]
pub async fn read_docs_page(page: String) -> Result<String, McpError> {
    if PAGES.contains(&page.as_str()) {
        Ok(format!("# {page}\n\nEverything about {page}.\n"))
    } else {
        Err(McpError::resource_not_found("no such page", None))
    }
}

#[tool_handler]
impl ServerHandler for DocsServer {
    #[allow(deprecated)] // MCP logging: deprecated in 2026-07-28, still spoken.
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_logging()
            .enable_tasks()
            .build();
        ServerConfig::new(capabilities).with_server_info(Implementation::new(
            "mcp-trace-example",
            env!("CARGO_PKG_VERSION"),
        ))
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        tasks().get_task(&request.task_id).map(GetTaskResult::new)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        tasks().cancel_task(&request.task_id)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let template = ResourceTemplate::new("docs://{page}", "docs")
            .with_description("Product documentation pages");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if request.name != "summarize" {
            return Err(McpError::invalid_params("no such prompt", None));
        }
        let message = PromptMessage::new_text(Role::User, "Summarize the documents found.");
        Ok(GetPromptResult::new(vec![message]).into())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let page = request
            .uri
            .strip_prefix("docs://")
            .ok_or_else(|| McpError::resource_not_found("unknown resource", None))?;
        let text = read_docs_page(page.to_owned()).await?;
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, request.uri.clone())]).into())
    }
}

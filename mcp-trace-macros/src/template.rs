//! `uri = "docs://{page}"` templates (RFC 6570 `{name}` and `{+name}`).

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Literal(String),
    /// `{name}`, or `{+name}` when `reserved`.
    Var {
        name: String,
        reserved: bool,
    },
}

pub(crate) fn parse(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Literal(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in URI template `{template}`"))?;
        let expr = &after[..close];
        let (reserved, name) = match expr.strip_prefix('+') {
            Some(name) => (true, name),
            None => (false, expr),
        };
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`{{{expr}}}` in URI template: expected `{{param}}` or `{{+param}}` naming one parameter"
            ));
        }
        parts.push(Part::Var {
            name: name.to_owned(),
            reserved,
        });
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("unmatched `}}` in URI template `{template}`"));
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_simple_and_reserved_expressions() {
        assert_eq!(
            parse("docs://{page}/{+rest}").unwrap(),
            [
                Part::Literal("docs://".into()),
                Part::Var {
                    name: "page".into(),
                    reserved: false
                },
                Part::Literal("/".into()),
                Part::Var {
                    name: "rest".into(),
                    reserved: true
                },
            ]
        );
        assert!(parse("docs://{page").is_err());
        assert!(parse("docs://{a,b}").is_err());
        assert!(parse("docs://}").is_err());
    }
}

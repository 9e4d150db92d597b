//! Statement text to statements: sqlparser's grammar (its generic dialect), plus the two
//! forms of ours it does not know, `... AS OF t` after a query and `SUBSCRIBE [TO] view [AS
//! OF t]`, recognized on the token stream before parsing.

use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::sql::error::{Position, SqlError, SqlResult};
use crate::time::Time;

/// One statement of a text.
#[derive(Debug)]
pub(crate) enum Statement {
    /// A statement of sqlparser's grammar; for a query, the time of its `AS OF`.
    Parsed { statement: Box<ast::Statement>, as_of: Option<Time> },
    /// `SUBSCRIBE [TO] view [AS OF t]`.
    Subscribe { view: String, as_of: Option<Time>, at: Position },
}

/// The statements of `text`, separated by `;`.
pub(crate) fn parse(text: &str) -> SqlResult<Vec<Statement>> {
    let dialect = GenericDialect {};
    let tokens =
        Tokenizer::new(&dialect, text).tokenize_with_location().map_err(|error| SqlError::Parse {
            message: error.message,
            at: Position { line: error.location.line, column: error.location.column },
        })?;
    let mut statements = Vec::new();
    for chunk in tokens.split(|t| t.token == Token::SemiColon) {
        let chunk: Vec<TokenWithSpan> = chunk.to_vec();
        let significant: Vec<&TokenWithSpan> =
            chunk.iter().filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF)).collect();
        if significant.is_empty() {
            continue;
        }
        if is_word(significant[0], "SUBSCRIBE") {
            statements.push(subscribe(&significant)?);
            continue;
        }
        let start = Position::of(significant[0].span);
        let (chunk, as_of) = strip_as_of(chunk)?;
        let statement = Parser::new(&dialect)
            .with_tokens_with_locations(with_eof(chunk))
            .parse_statement()
            .map_err(parse_error)?;
        if as_of.is_some() && !matches!(statement, ast::Statement::Query(_)) {
            return Err(SqlError::Unsupported {
                what: "AS OF after a statement that is not a query".into(),
                at: start,
            });
        }
        statements.push(Statement::Parsed { statement: Box::new(statement), as_of });
    }
    Ok(statements)
}

fn with_eof(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    tokens.push(TokenWithSpan::wrap(Token::EOF));
    tokens
}

fn is_word(token: &TokenWithSpan, word: &str) -> bool {
    matches!(&token.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn is_keyword(token: &TokenWithSpan, keyword: Keyword) -> bool {
    matches!(&token.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == keyword)
}

/// True for a token that may follow an alias: a comma, a closing parenthesis, or a keyword
/// that starts the next clause or join.
fn follows_alias(token: &TokenWithSpan) -> bool {
    const NEXT: [Keyword; 20] = [
        Keyword::FROM,
        Keyword::WHERE,
        Keyword::GROUP,
        Keyword::HAVING,
        Keyword::ORDER,
        Keyword::LIMIT,
        Keyword::OFFSET,
        Keyword::JOIN,
        Keyword::INNER,
        Keyword::LEFT,
        Keyword::RIGHT,
        Keyword::FULL,
        Keyword::CROSS,
        Keyword::NATURAL,
        Keyword::ON,
        Keyword::USING,
        Keyword::UNION,
        Keyword::EXCEPT,
        Keyword::INTERSECT,
        Keyword::WINDOW,
    ];
    matches!(token.token, Token::Comma | Token::RParen) || NEXT.iter().any(|k| is_keyword(token, *k))
}

/// A time written after `AS OF`.
fn time(token: &TokenWithSpan) -> SqlResult<Time> {
    match &token.token {
        Token::Number(n, _) => n.parse().map_err(|_| SqlError::Parse {
            message: format!("AS OF takes a time (a non-negative integer), not {n}"),
            at: Position::of(token.span),
        }),
        other => Err(SqlError::Parse {
            message: format!("AS OF takes a time (a non-negative integer), not {other}"),
            at: Position::of(token.span),
        }),
    }
}

/// The tokens without a trailing `AS OF <time>`, and the time.
fn strip_as_of(mut tokens: Vec<TokenWithSpan>) -> SqlResult<(Vec<TokenWithSpan>, Option<Time>)> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|i| !matches!(tokens[*i].token, Token::Whitespace(_) | Token::EOF))
        .collect();
    // `AS OF` followed by what may follow an alias is an alias named `of` (`SELECT a AS of
    // FROM t`); any other `AS OF` is ours, in its place at the end or misplaced.
    let as_of = significant.windows(2).enumerate().position(|(at, pair)| {
        let alias = significant.get(at + 2).is_some_and(|i| follows_alias(&tokens[*i]));
        is_keyword(&tokens[pair[0]], Keyword::AS) && is_keyword(&tokens[pair[1]], Keyword::OF) && !alias
    });
    match as_of {
        None => Ok((tokens, None)),
        Some(at) if at + 3 == significant.len() => {
            let time = time(&tokens[significant[at + 2]])?;
            tokens.truncate(significant[at]);
            Ok((tokens, Some(time)))
        }
        Some(at) => Err(SqlError::Parse {
            message: "AS OF goes at the end of a query (after ORDER BY and LIMIT)".into(),
            at: Position::of(tokens[significant[at]].span),
        }),
    }
}

fn subscribe(tokens: &[&TokenWithSpan]) -> SqlResult<Statement> {
    let at = Position::of(tokens[0].span);
    let mut rest = &tokens[1..];
    if rest.first().is_some_and(|t| is_keyword(t, Keyword::TO)) {
        rest = &rest[1..];
    }
    let usage = || SqlError::Parse { message: "expected SUBSCRIBE [TO] view [AS OF time]".into(), at };
    let view = match rest.first().map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_some() => w.value.clone(),
        Some(Token::Word(w)) => w.value.to_lowercase(),
        _ => return Err(usage()),
    };
    let as_of = match &rest[1..] {
        [] => None,
        [as_, of, t] if is_keyword(as_, Keyword::AS) && is_keyword(of, Keyword::OF) => Some(time(t)?),
        _ => return Err(usage()),
    };
    Ok(Statement::Subscribe { view, as_of, at })
}

/// The parser's error, with the position its message ends with (`... at Line: 1, Column: 5`).
fn parse_error(error: ParserError) -> SqlError {
    let message = match error {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "the statement is nested too deeply".to_string(),
    };
    let (message, at) = match message.rsplit_once(" at Line: ") {
        Some((text, place)) => {
            let mut numbers = place.split(", Column: ").map(|n| n.trim().parse().unwrap_or(0));
            let line = numbers.next().unwrap_or(0);
            let column = numbers.next().unwrap_or(0);
            (text.to_string(), Position { line, column })
        }
        None => (message, Position::default()),
    };
    SqlError::Parse { message, at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_and_subscribe_are_read_before_parsing() {
        let statements =
            parse("SELECT a FROM t AS OF 12; subscribe to \"V\" as of 3;  SUBSCRIBE v ;").unwrap();
        assert!(matches!(&statements[0], Statement::Parsed { as_of: Some(12), .. }));
        assert!(matches!(&statements[1], Statement::Subscribe { view, as_of: Some(3), .. } if view == "V"));
        assert!(matches!(&statements[2], Statement::Subscribe { view, as_of: None, .. } if view == "v"));
        assert_eq!(statements.len(), 3);
    }

    #[test]
    fn errors_say_where() {
        let Err(SqlError::Parse { at, .. }) = parse("SELECT a FROM\n  WHERE") else { panic!("parsed") };
        assert_eq!(at.line, 2);
        assert!(matches!(parse("SELECT 1 AS OF x"), Err(SqlError::Parse { .. })));
        assert!(matches!(parse("SUBSCRIBE"), Err(SqlError::Parse { .. })));
        assert!(matches!(parse("INSERT INTO t VALUES (1) AS OF 3"), Err(SqlError::Unsupported { .. })));
    }
}

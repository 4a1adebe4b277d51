//! Test helpers: drive a [`Framer`] over a whole input the way a session would.

#![allow(dead_code)]

use pillarbox_imap::proto::*;

pub mod values;

/// What happened to one command of the input.
#[derive(Debug)]
pub enum Outcome {
    Parsed(Command<usize>),
    Parse(ParseError),
    Frame(FrameError),
}

/// Frames and parses all of `input`, keeping every literal inline except APPEND
/// messages, which are "streamed" into `spool` (the handle is the spool index).
pub fn run(input: &[u8], config: FramerConfig) -> (Vec<Outcome>, Vec<Vec<u8>>) {
    let mut framer: Framer<usize> = Framer::new(config);
    let mut spool: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        let adv = framer.advance(rest);
        let consumed = adv.consumed;
        match adv.event {
            FrameEvent::NeedMore => break,
            FrameEvent::Command(c) => out.push(match parse_command(c) {
                Ok(c) => Outcome::Parsed(c),
                Err(e) => Outcome::Parse(e),
            }),
            FrameEvent::Literal(a) => {
                if a.role == LiteralRole::AppendMessage {
                    spool.push(Vec::new());
                    framer.accept_streamed(spool.len() - 1).unwrap();
                } else if framer.accept_inline().is_err() {
                    framer.reject_literal();
                }
            }
            FrameEvent::LiteralData(d) => spool.last_mut().unwrap().extend_from_slice(d),
            FrameEvent::LiteralEnd => {}
            FrameEvent::Error { error, .. } => out.push(Outcome::Frame(error)),
        }
        rest = &rest[consumed..];
    }
    (out, spool)
}

/// Parses one command given as text (CRLF appended), all literals inline.
pub fn parse(line: &str) -> Result<CommandBody<usize>, ParseError> {
    let mut input = line.as_bytes().to_vec();
    input.extend_from_slice(b"\r\n");
    let mut framer: Framer<usize> = Framer::default();
    let mut rest = &input[..];
    loop {
        let adv = framer.advance(rest);
        let consumed = adv.consumed;
        match adv.event {
            FrameEvent::Command(c) => return parse_command(c).map(|c| c.body),
            FrameEvent::Literal(_) => framer.accept_inline().unwrap(),
            FrameEvent::NeedMore => panic!("incomplete command: {line:?}"),
            other => panic!("unexpected event {other:?}"),
        }
        rest = &rest[consumed..];
    }
}

//! An SMTP sink for the tests: a real SMTP server (mailin-embedded) on 127.0.0.1
//! that keeps every message it receives, parsed with mail-parser.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{response, Handler, Response, Server};

use crate::harness::TestApp;

/// A received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The first http(s) link in the text part.
    pub fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a link in the mail")
            .to_owned()
    }

    /// The value after `label` on its line in the text part.
    pub fn value_after(&self, label: &str) -> String {
        let line = self
            .text
            .lines()
            .find(|l| l.contains(label))
            .expect("label in the mail");
        line.split_once(label).unwrap().1.trim().to_owned()
    }
}

#[derive(Clone)]
struct Collector {
    to: Vec<String>,
    buf: Vec<u8>,
    store: Arc<Mutex<Vec<Mail>>>,
}

impl Handler for Collector {
    /// Mailboxes starting with `unknown-` do not exist: a permanent 550.
    fn rcpt(&mut self, to: &str) -> Response {
        if to.trim_start_matches('<').starts_with("unknown-") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.buf.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let parsed = mail_parser::MessageParser::default().parse(&self.buf);
        if let Some(m) = parsed {
            self.store.lock().unwrap().push(Mail {
                to: self.to.clone(),
                subject: m.subject().unwrap_or_default().to_owned(),
                text: m.body_text(0).map(|c| c.into_owned()).unwrap_or_default(),
                html: m.body_html(0).map(|c| c.into_owned()).unwrap_or_default(),
            });
        }
        response::OK
    }
}

/// A running SMTP sink.
pub struct SmtpSink {
    pub port: u16,
    store: Arc<Mutex<Vec<Mail>>>,
}

/// A free port on 127.0.0.1 (nothing listens on it afterwards).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts the sink on `port` (e.g. one the provider was already told about).
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let store = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Collector {
            to: Vec::new(),
            buf: Vec::new(),
            store: store.clone(),
        });
        server
            .with_name("sink.test")
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, store }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// All messages to `to` so far.
    pub fn to(&self, to: &str) -> Vec<Mail> {
        self.store
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .cloned()
            .collect()
    }

    /// Delivers `app`'s due mail (what the mail worker would do, but now) and returns
    /// the n-th message to `to`. Nothing waits: mail queued by a request is in the
    /// outbox when the response arrives.
    pub async fn delivered(&self, app: &TestApp, to: &str, n: usize) -> Mail {
        app.deliver_mail().await;
        let got = self.to(to);
        match got.get(n - 1) {
            Some(mail) => mail.clone(),
            None => panic!("no message #{n} to {to}; got {got:?}"),
        }
    }
}

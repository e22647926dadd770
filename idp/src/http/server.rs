//! The accept loop: hyper-util's HTTP/1.1 and HTTP/2 connections with the limits
//! `axum::serve` lacks (it sets no timer, so a connection that never finishes its
//! request head stays open for ever).
//!
//! Each connection has a watchdog that knows its phase:
//! - **fresh** (accepted, nothing read) and **reading a head** (bytes arrived while no
//!   request was in progress): closed `header_read_timeout` after the accept or after
//!   the first byte of the head;
//! - **in a request** (the head is complete and the router is handling it): never
//!   closed by the watchdog (the router's own 30 s timeout applies);
//! - **idle** (keep-alive, between requests): closed `keep_alive_idle` after the last
//!   request finished.
//!
//! With HTTP/2 (cleartext, prior knowledge) any frame between requests, a PING too,
//! counts as the start of a head; a connection is closed by dropping it.
//!
//! hyper's own HTTP/1 `header_read_timeout` is off: it restarts whenever a connection
//! waits for a head, so it would also close idle keep-alive connections after the
//! header timeout, and hyper-util's protocol detection waits without any timeout.
//! At most `max_connections` are served at once; at the cap the loop stops accepting
//! until one ends, and the kernel's listen backlog holds the rest.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::config::HttpConfig;

/// Connection limits (from `http.*`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From the accept, or from the first byte of a request head, to the complete head.
    pub header_read_timeout: Duration,
    /// How long a connection may stay idle between requests.
    pub keep_alive_idle: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl From<&HttpConfig> for ConnectionLimits {
    fn from(http: &HttpConfig) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(http.header_read_timeout_seconds),
            keep_alive_idle: Duration::from_secs(http.keep_alive_idle_seconds),
            max_connections: http.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting,
/// asks every connection to shut down gracefully (in-flight requests finish, idle
/// connections close) and returns when all have ended. Handlers see the peer address
/// as `ConnectInfo<SocketAddr>`.
///
/// # Errors
/// None in practice: accept errors are logged and retried (after 1 s unless the error
/// concerned only that connection), as `axum::serve` does.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.map_err(io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY failed");
        }
        let connection = Connection {
            builder: builder.clone(),
            router: router.clone(),
            limits,
            stop: stop_rx.clone(),
            _permit: permit,
        };
        tokio::spawn(connection.run(stream, peer));
    }
    drop(listener);
    drop(stop_rx);
    // Every connection watches `stop_tx`; sending wakes them all.
    let _ = stop_tx.send(());
    // A connection holds its permit until it ends: all permits back means all ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// Like `axum::serve`: errors about one connection are skipped; anything else (such
/// as too many open files) is logged and retried after a second.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection and what it needs.
struct Connection {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    limits: ConnectionLimits,
    stop: watch::Receiver<()>,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let activity = Arc::new(Activity::new(self.limits));
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let router = self.router.clone();
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let in_request = requests.request_started();
            let response = router.clone().oneshot(req.map(Body::new));
            async move {
                let response = response.await;
                drop(in_request);
                response
            }
        });
        let conn = self.builder.serve_connection_with_upgrades(io, service);
        let mut conn = std::pin::pin!(conn);
        let mut stopping = false;
        loop {
            let deadline = activity.deadline();
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = activity.changed.notified() => {}
                () = sleep_until(deadline) => {
                    if activity.expired() {
                        tracing::debug!(%peer, "closing a stalled or idle connection");
                        return;
                    }
                }
                _ = self.stop.changed(), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What a connection is doing, shared by its reader, its service and its watchdog.
struct Activity {
    phase: Mutex<Phase>,
    /// Woken on every change of the deadline.
    changed: Notify,
    limits: ConnectionLimits,
}

#[derive(Debug)]
struct Phase {
    /// Requests being handled (more than one only with HTTP/2).
    in_flight: usize,
    /// Whether bytes arrived since the connection became fresh or idle.
    reading: bool,
    /// When the connection is closed unless something happens; `None` in a request.
    deadline: Option<Instant>,
}

impl Activity {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            phase: Mutex::new(Phase {
                in_flight: 0,
                reading: false,
                deadline: Some(Instant::now() + limits.header_read_timeout),
            }),
            changed: Notify::new(),
            limits,
        }
    }

    fn update(&self, f: impl FnOnce(&mut Phase, &ConnectionLimits) -> bool) {
        let changed = {
            let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut phase, &self.limits)
        };
        if changed {
            self.changed.notify_one();
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .deadline
    }

    /// Whether the connection is past its deadline with no request in progress.
    fn expired(&self) -> bool {
        let phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        phase.in_flight == 0 && phase.deadline.is_some_and(|d| d <= Instant::now())
    }

    /// Bytes arrived: between requests they start a head, which gets the header timeout.
    fn bytes_read(&self) {
        self.update(|phase, limits| {
            if phase.in_flight > 0 || phase.reading {
                return false;
            }
            phase.reading = true;
            phase.deadline = Some(Instant::now() + limits.header_read_timeout);
            true
        });
    }

    /// A complete head went to the router; the guard marks the end of the request.
    fn request_started(self: &Arc<Self>) -> InRequest {
        self.update(|phase, _| {
            phase.in_flight += 1;
            phase.deadline = None;
            true
        });
        InRequest(self.clone())
    }
}

/// Marks a request in progress until dropped (when its response is ready, or when
/// the connection drops it).
struct InRequest(Arc<Activity>);

impl Drop for InRequest {
    fn drop(&mut self) {
        self.0.update(|phase, limits| {
            phase.in_flight = phase.in_flight.saturating_sub(1);
            if phase.in_flight == 0 {
                phase.reading = false;
                phase.deadline = Some(Instant::now() + limits.keep_alive_idle);
            }
            true
        });
    }
}

/// A TCP stream that reports every read to its connection's [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

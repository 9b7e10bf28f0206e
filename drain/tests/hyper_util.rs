//! The layer under plain hyper 1 and hyper-util, without axum: the accept
//! loop stops on the drain's signal and hyper-util's `GracefulShutdown`
//! closes the connections. There the layer can refuse HTTP/2 streams.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::{ServiceBuilder, service_fn};

use cofferdam_drain::{Drain, DrainConfig, DrainMode, DrainOutcome};
use common::{Gate, PATIENCE, get, until, until_refused};

#[tokio::test]
async fn hyper_util_server_drains_an_in_flight_request() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(Duration::from_millis(100))
            .drain_timeout(PATIENCE),
    );
    let gate = Gate::default();
    let handler_gate = gate.clone();
    let service = TowerToHyperService::new(ServiceBuilder::new().layer(drain.layer()).service(
        service_fn(move |req: Request<Incoming>| {
            let gate = handler_gate.clone();
            async move {
                if req.uri().path() == "/held" {
                    gate.pass().await;
                }
                Ok::<_, Infallible>(Response::new("done".to_owned()))
            }
        }),
    ));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = {
        let drain = drain.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let graceful = GracefulShutdown::new();
            let stop = drain.shutdown_signal();
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (io, _) = accepted.unwrap();
                        let conn = builder.serve_connection(TokioIo::new(io), service.clone());
                        tokio::spawn(graceful.watch(conn.into_owned()));
                    }
                    () = &mut stop => break,
                }
            }
            drop(listener);
            tokio::select! {
                () = graceful.shutdown() => {}
                () = drain.deadline_token().cancelled_owned() => {}
            }
            drain.closed().await;
        })
    };

    let before = get(addr, "/").await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(!before.closes());

    let held = tokio::spawn(get(addr, "/held"));
    until("the request to be in flight", || drain.in_flight() == 1).await;
    drain.begin_drain();
    let during = get(addr, "/").await;
    assert_eq!(during.status, StatusCode::OK);
    assert!(during.closes());

    drain.shutdown_signal().await;
    until_refused(addr).await;
    gate.open();
    let answer = held.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.closes());

    tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drain.wait_drained(PATIENCE).await, Ok(()));
    assert_eq!(drain.outcome(), Some(DrainOutcome::Drained));
}

/// With `refuse_http2`, an HTTP/2 request the drain will not serve is reset
/// with `REFUSED_STREAM`, which a client may retry, instead of a `503`;
/// HTTP/1 still gets the `503`.
#[tokio::test]
async fn refused_http2_streams_are_reset_with_refused_stream() {
    let drain = Drain::new(
        DrainConfig::new()
            .drain_mode(DrainMode::RejectNew)
            .drain_delay(PATIENCE)
            .drain_timeout(PATIENCE),
    );
    let service = TowerToHyperService::new(
        ServiceBuilder::new()
            .layer(drain.layer().refuse_http2())
            .service(service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new("served".to_owned()))
            })),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        while let Ok((io, _)) = listener.accept().await {
            let conn = builder.serve_connection(TokioIo::new(io), service.clone());
            tokio::spawn(conn.into_owned());
        }
    });

    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut sender, conn) = http2::handshake(TokioExecutor::new(), io).await.unwrap();
    tokio::spawn(conn);
    let request = || {
        Request::get(format!("http://{addr}/"))
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let served = sender.send_request(request()).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);

    drain.begin_drain();
    let error = sender
        .send_request(request())
        .await
        .expect_err("refused, not answered");
    let mut cause = std::error::Error::source(&error);
    let mut reason = None;
    while let Some(err) = cause {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            reason = h2.reason();
        }
        cause = err.source();
    }
    assert_eq!(reason, Some(h2::Reason::REFUSED_STREAM), "{error:?}");
    assert_eq!(drain.rejected(), 1);
    assert_eq!(drain.in_flight(), 0);

    // The connection survives a refused stream.
    sender.ready().await.unwrap();
    let again = sender.send_request(request()).await;
    assert!(again.is_err(), "still refused while draining");

    let http1 = get(addr, "/").await;
    assert_eq!(http1.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(drain.rejected(), 3);
    drain.force();
}

//! A loopback TCP relay that counts round trips ("flights"): each time the
//! client sends after the server has answered, or first, is one flight.
//! Pipelined messages sent without waiting count once, which is the point.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running relay; it lives until the process ends.
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    flights: Arc<AtomicU64>,
}

impl Proxy {
    /// Listens on an ephemeral loopback port and relays to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let flights = Arc::new(AtomicU64::new(0));
        let counter = flights.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, counter).await;
                    }
                });
            }
        });
        Ok(Proxy { addr, flights })
    }

    /// Flights since the relay started, over every connection.
    pub fn flights(&self) -> u64 {
        self.flights.load(Ordering::SeqCst)
    }
}

async fn relay(client: TcpStream, server: TcpStream, flights: Arc<AtomicU64>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // True while the client has spoken since the server last answered.
    let client_spoke = Arc::new(AtomicBool::new(false));
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let spoke = client_spoke.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !spoke.swap(true, Ordering::SeqCst) {
                flights.fetch_add(1, Ordering::SeqCst);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Cleared before forwarding: the client cannot answer what it
            // has not received, so the next flight is always seen.
            client_spoke.store(false, Ordering::SeqCst);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, down);
}

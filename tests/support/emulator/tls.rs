//! The HTTPS door. With its rate limiter on, serenity ignores `HttpBuilder::proxy` and calls
//! `https://discord.com` itself, so a bot in its production configuration never reaches the
//! plain-http REST listener. This listener is an HTTP CONNECT proxy for that bot instead: it
//! accepts `CONNECT discord.com:443`, terminates TLS with a certificate for discord.com signed
//! by a test CA (`tls/ca.pem`; point `SSL_CERT_FILE` at it, or trust it in the client), and
//! serves the same REST handler inside the tunnel. Set `HTTPS_PROXY` to
//! [`super::Emulator::https_proxy_url`].
//!
//! The certificates were made once with openssl (P-256, valid for 100 years):
//! `req -x509 -newkey ec ... -subj "/CN=careerbot emulator test CA"` with `CA:TRUE`, then a
//! leaf for `/CN=discord.com` with `subjectAltName=DNS:discord.com`, `CA:FALSE`,
//! `extendedKeyUsage=serverAuth`, signed by it; the leaf and its PKCS#8 key stored as DER.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::{rest, Shared};

/// The test CA, PEM: what a client must trust (e.g. `SSL_CERT_FILE`).
pub const TEST_CA_PEM: &str = include_str!("tls/ca.pem");
const LEAF_DER: &[u8] = include_bytes!("tls/discord.com.der");
const LEAF_KEY_DER: &[u8] = include_bytes!("tls/discord.com.key.der");

/// The only tunnel the door opens: what serenity's routes are built on.
const TARGET: &str = "discord.com:443";

/// The longest CONNECT request head read before giving up on a client.
const MAX_HEAD: usize = 8 * 1024;

pub(super) fn acceptor() -> TlsAcceptor {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(LEAF_KEY_DER.to_vec()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(LEAF_DER.to_vec())], key)
        .unwrap_or_else(|e| panic!("emulator: the stored test certificate is unusable: {e}"));
    TlsAcceptor::from(Arc::new(config))
}

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let acceptor = acceptor();
    super::accept_loop(
        listener,
        shared,
        stop,
        "HTTPS door",
        move |stream, shared, stop| {
            let acceptor = acceptor.clone();
            async move {
                if let Err(e) = tunnel(stream, acceptor, Arc::clone(&shared), stop).await {
                    shared.problem(format!("HTTPS door: {e}"));
                }
            }
        },
    )
    .await;
}

/// One client: its CONNECT, the 200, the TLS handshake, then HTTP inside.
async fn tunnel(
    mut stream: TcpStream,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let head = read_head(&mut stream).await?;
    let request_line = head.lines().next().unwrap_or_default();
    let target = match request_line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _version] => target,
        _ => return Err(format!("expected a CONNECT request, got {request_line:?}")),
    };
    if target != TARGET {
        let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        return Err(format!("CONNECT to {target}: only {TARGET} is emulated"));
    }
    stream
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .map_err(|e| format!("answering CONNECT: {e}"))?;
    let tls = acceptor
        .accept(stream)
        .await
        .map_err(|e| format!("TLS handshake for {TARGET} failed: {e}"))?;
    rest::serve_connection(tls, shared, stop).await;
    Ok(())
}

/// Reads up to the blank line that ends the request head. The client sends nothing more before
/// it has read the 200, so nothing of the TLS handshake is consumed here.
async fn read_head(stream: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(format!("a request head over {MAX_HEAD} bytes"));
        }
        match stream.read(&mut byte).await {
            Ok(0) => return Err("the client closed before a full request head".to_string()),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(format!("reading the request head: {e}")),
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

//! A real authoritative DNS server for tests: hickory-server in process, on a loopback UDP
//! and TCP port, serving one zone whose TXT records the test sets and changes while it runs.
//! Two fault servers stand beside it: one that answers every query with SERVFAIL and one
//! that never answers (a timeout). Behind the `test-dns` feature; the pod never uses this.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

/// The TTL of the records the test server publishes.
pub const TEST_TTL: u32 = 60;

/// An authoritative server for one zone.
pub struct TestDnsServer {
    pub addr: SocketAddr,
    zone: Arc<InMemoryZoneHandler<TokioRuntimeProvider>>,
    _server: Server<Catalog>,
}

impl TestDnsServer {
    /// Serve `origin` (e.g. `test.`) on `127.0.0.1:<free port>`, UDP and TCP on the same port.
    pub async fn start(origin: &str) -> Result<TestDnsServer, String> {
        let origin_name = Name::from_ascii(origin).map_err(|e| e.to_string())?;
        let zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            origin_name.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        let soa = SOA::new(
            Name::from_ascii(format!("ns.{origin}")).map_err(|e| e.to_string())?,
            Name::from_ascii(format!("hostmaster.{origin}")).map_err(|e| e.to_string())?,
            1,
            3600,
            600,
            86400,
            TEST_TTL,
        );
        zone.upsert(
            Record::from_rdata(origin_name.clone(), TEST_TTL, RData::SOA(soa)),
            1,
        )
        .await;
        let zone = Arc::new(zone);
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin_name), vec![zone.clone()]);
        // Bind UDP first, then TCP on the same port (retry if another process took it).
        for _ in 0..20 {
            let udp = UdpSocket::bind("127.0.0.1:0")
                .await
                .map_err(|e| e.to_string())?;
            let addr = udp.local_addr().map_err(|e| e.to_string())?;
            let Ok(tcp) = TcpListener::bind(addr).await else {
                continue;
            };
            let mut server = Server::new(catalog);
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
            return Ok(TestDnsServer {
                addr,
                zone,
                _server: server,
            });
        }
        Err("no free loopback port for the test DNS server".into())
    }

    /// Replace the TXT records at `name` (fully qualified) with `records`, each given as its
    /// character-strings. An empty list removes the name's TXT records.
    pub async fn set_txt(&self, name: &str, records: &[Vec<Vec<u8>>]) -> Result<(), String> {
        self.set_txt_ttl(name, records, TEST_TTL).await
    }

    /// [`TestDnsServer::set_txt`] with answers valid for `ttl` seconds.
    pub async fn set_txt_ttl(
        &self,
        name: &str,
        records: &[Vec<Vec<u8>>],
        ttl: u32,
    ) -> Result<(), String> {
        let n = Name::from_ascii(name).map_err(|e| e.to_string())?;
        {
            let mut recs = self.zone.records_mut().await;
            recs.remove(&RrKey::new(LowerName::new(&n), RecordType::TXT));
        }
        for r in records {
            let txt = TXT::from_bytes(r.iter().map(Vec::as_slice).collect());
            self.zone
                .upsert(Record::from_rdata(n.clone(), ttl, RData::TXT(txt)), 1)
                .await;
        }
        Ok(())
    }

    /// [`TestDnsServer::set_txt`] with each record's text split into 255-byte strings.
    pub async fn set_txt_text(&self, name: &str, records: &[&str]) -> Result<(), String> {
        self.set_txt_text_ttl(name, records, TEST_TTL).await
    }

    /// [`TestDnsServer::set_txt_text`] with answers valid for `ttl` seconds.
    pub async fn set_txt_text_ttl(
        &self,
        name: &str,
        records: &[&str],
        ttl: u32,
    ) -> Result<(), String> {
        let recs: Vec<Vec<Vec<u8>>> = records
            .iter()
            .map(|r| {
                crate::dns::split_strings(r)
                    .into_iter()
                    .map(String::into_bytes)
                    .collect()
            })
            .collect();
        self.set_txt_ttl(name, &recs, ttl).await
    }
}

/// A UDP "server" that answers every query with SERVFAIL (a fault, not a DNS server).
pub async fn servfail_server() -> Result<SocketAddr, String> {
    let sock = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = sock.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            if n < 12 {
                continue;
            }
            let mut resp = buf[..n].to_vec();
            resp[2] = 0x80 | (resp[2] & 0x79); // QR=1, keep opcode and RD
            resp[3] = 0x80 | 2; // RA=1, RCODE=SERVFAIL
            resp[6..12].fill(0); // no answers, authority or additional records
            // Keep only the header and question: drop any EDNS record at the end.
            let mut end = 12;
            if u16::from_be_bytes([resp[4], resp[5]]) == 1 {
                while end < n && resp[end] != 0 {
                    end += 1 + resp[end] as usize;
                }
                end = (end + 5).min(n);
            }
            resp.truncate(end);
            let _ = sock.send_to(&resp, peer).await;
        }
    });
    Ok(addr)
}

/// A bound UDP socket that reads queries and never answers: every lookup times out.
pub async fn silent_server() -> Result<SocketAddr, String> {
    let sock = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = sock.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while sock.recv_from(&mut buf).await.is_ok() {}
    });
    Ok(addr)
}

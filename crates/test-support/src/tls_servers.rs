//! PostgreSQL and Redis servers that speak only TLS, with certificates made for the run:
//! for the tests of `sslmode` and `rediss://`, and for `cargo xtask test`'s pass of the
//! suite over TLS. Blocking, so that xtask's synchronous code can use them as they are.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// Why a TLS server could not be set up.
pub type SetupError = String;

/// A certificate authority of the run's own and, signed by it, a server certificate for
/// `localhost` only: connecting by `127.0.0.1` fails a check of the name, as it should.
#[derive(Debug, Clone)]
pub struct TestCertificates {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn authority(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, SetupError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    CertifiedIssuer::self_signed(params, key).map_err(|e| e.to_string())
}

fn write(path: &Path, contents: &str) -> Result<(), SetupError> {
    std::fs::write(path, contents).map_err(|e| format!("writing {}: {e}", path.display()))
}

impl TestCertificates {
    /// Makes the authority and the server's certificate and key in `dir` (created).
    pub fn make(dir: &Path) -> Result<Self, SetupError> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let ca = authority("Trachios test CA")?;
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params.signed_by(&key, &ca).map_err(|e| e.to_string())?;
        let made = Self {
            dir: dir.to_owned(),
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        write(&made.ca, &ca.pem())?;
        write(&made.cert, &cert.pem())?;
        write(&made.key, &key.serialize_pem())?;
        Ok(made)
    }

    /// The certificate of an authority that signed nothing these servers present.
    pub fn stranger_ca(&self) -> Result<PathBuf, SetupError> {
        let path = self.dir.join("stranger-ca.pem");
        write(&path, &authority("Someone else's CA")?.pem())?;
        Ok(path)
    }
}

/// Whether this process runs as root (PostgreSQL's tools then run as `postgres`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest installed PostgreSQL's `name` (initdb, pg_ctl), or one on the PATH.
pub fn postgres_bin(name: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    candidates.sort();
    candidates.pop().or_else(|| {
        let out = Command::new("which").arg(name).output().ok()?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (!path.is_empty()).then(|| PathBuf::from(path))
    })
}

/// `initdb` and `pg_ctl` refuse to run as root: they run as the `postgres` user then.
pub fn as_postgres_user(bin: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin);
        cmd
    } else {
        Command::new(bin)
    }
}

fn give_to_postgres(path: &Path) -> Result<(), SetupError> {
    if !is_root() {
        return Ok(());
    }
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(())
        .ok_or_else(|| format!("chown postgres {} failed", path.display()))
}

fn succeeded(mut cmd: Command, what: &str) -> Result<(), SetupError> {
    let out = cmd
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16, SetupError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A PostgreSQL cluster of its own that refuses every connection not made over TLS;
/// stopped when dropped.
pub struct TlsPostgres {
    pub port: u16,
    data: PathBuf,
    pg_ctl: PathBuf,
}

impl TlsPostgres {
    /// Initialises a cluster in `data` (which must not exist) and starts it on `port`.
    pub fn start(certs: &TestCertificates, data: &Path, port: u16) -> Result<Self, SetupError> {
        let missing = "PostgreSQL's server binaries are installed (apt-get install postgresql)";
        let initdb = postgres_bin("initdb").ok_or(missing)?;
        let pg_ctl = postgres_bin("pg_ctl").ok_or(missing)?;
        std::fs::create_dir_all(data).map_err(|e| format!("creating {}: {e}", data.display()))?;
        give_to_postgres(data)?;
        let mut init = as_postgres_user(&initdb);
        init.arg("-D")
            .arg(data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        succeeded(init, "initdb")?;
        // The server reads its key only if no one else can.
        for (from, to) in [(&certs.cert, "server.pem"), (&certs.key, "server.key")] {
            std::fs::copy(from, data.join(to)).map_err(|e| format!("copying {to}: {e}"))?;
        }
        set_owner_only(&data.join("server.key"))?;
        write(
            &data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )?;
        write(
            &data.join("postgresql.auto.conf"),
            &format!(
                "port = {port}\nlisten_addresses = 'localhost'\nunix_socket_directories = '{}'\n\
                 ssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n\
                 fsync = off\nmax_connections = 200\n",
                data.display()
            ),
        )?;
        give_to_postgres(data)?;
        let mut start = as_postgres_user(&pg_ctl);
        start
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(data.join("server.log"))
            .args(["-w", "start"]);
        succeeded(start, "pg_ctl start")?;
        Ok(Self {
            port,
            data: data.to_owned(),
            pg_ctl,
        })
    }

    /// `postgres://postgres@HOST:PORT/postgres?PARAMS`.
    pub fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{params}", self.port)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let mut stop = as_postgres_user(&self.pg_ctl);
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"]);
        if let Err(e) = succeeded(stop, "pg_ctl stop") {
            eprintln!(
                "the TLS PostgreSQL in {} may still run: {e}",
                self.data.display()
            );
        }
    }
}

#[cfg(unix)]
fn set_owner_only(path: &Path) -> Result<(), SetupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// A redis-server listening only for TLS; killed when dropped.
pub struct TlsRedis {
    pub port: u16,
    ca: PathBuf,
    child: Child,
}

impl TlsRedis {
    pub fn start(certs: &TestCertificates, port: u16) -> Result<Self, SetupError> {
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "::1"])
            .arg("--tls-cert-file")
            .arg(&certs.cert)
            .arg("--tls-key-file")
            .arg(&certs.key)
            .arg("--tls-ca-cert-file")
            .arg(&certs.ca)
            .args([
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("redis-server is installed (apt-get install redis-server): {e}")
            })?;
        let mut redis = Self {
            port,
            ca: certs.ca.clone(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["ping"]).as_deref() != Ok("PONG") {
            if Instant::now() > deadline || matches!(redis.child.try_wait(), Ok(Some(_))) {
                return Err(format!("the TLS redis-server on {port} did not come up"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }

    /// `rediss://HOST:PORT/?PARAMS`.
    pub fn url(&self, host: &str, params: &str) -> String {
        format!("rediss://{host}:{}/?{params}", self.port)
    }

    /// `redis-cli` over TLS; its trimmed output.
    pub fn cli(&self, args: &[&str]) -> Result<String, SetupError> {
        let out = Command::new("redis-cli")
            .args(["--tls", "-h", "localhost", "-p", &self.port.to_string()])
            .arg("--cacert")
            .arg(&self.ca)
            .args(args)
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        // An already exited server cannot be killed; reaping it is enough.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A real mail system on loopback for a test: Postfix (a submission port that takes
//! only authenticated senders, and an open port playing the internet's inbound mail),
//! Dovecot serving the mailboxes over IMAP and checking Postfix's logins. Mail to
//! `@rebote.test` is accepted and then bounced by Postfix with a genuine RFC 3464
//! report. Every mailbox's password is [`MAIL_PASSWORD`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MAIL_PASSWORD: &str = "clave-del-buzon";
pub const OFFICE: &str = "cobranzas@recaudo.test";
pub const MAILBOXES: [&str; 4] = [
    OFFICE,
    "ana@deudores.test",
    "juan@deudores.test",
    "pedro@deudores.test",
];

pub struct MailServer {
    pub dir: tempfile::TempDir,
    pub submission: u16,
    pub mx: u16,
    pub imap: u16,
    postfix: Child,
    dovecot: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn wait_port(port: u16, what: &str, log: &Path) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            panic!(
                "{what} did not listen on {port}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl MailServer {
    pub fn start() -> MailServer {
        for tool in [
            "/usr/sbin/postfix",
            "/usr/lib/postfix/sbin/master",
            "/usr/sbin/dovecot",
        ] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: scripts/setup.sh installs Postfix and Dovecot (Debian's postfix, dovecot-imapd)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        // Postfix's and Dovecot's unprivileged processes walk into it.
        Command::new("chmod")
            .arg("755")
            .arg(&root)
            .status()
            .unwrap();
        let p = |s: &str| -> PathBuf { root.join(s) };
        for d in ["conf", "mail", "data", "queue", "dovecot"] {
            std::fs::create_dir_all(p(d)).unwrap();
        }
        Command::new("chown")
            .args(["65534:65534"])
            .arg(p("mail"))
            .status()
            .unwrap();
        Command::new("chown")
            .arg("postfix")
            .arg(p("data"))
            .status()
            .unwrap();
        let (submission, mx, imap) = (free_port(), free_port(), free_port());
        let r = root.display();
        write(
            &p("conf/main.cf"),
            &format!(
                "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.recaudo.test
mydomain = recaudo.test
myorigin = recaudo.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks =
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_reject_unlisted_recipient = no
virtual_mailbox_domains = recaudo.test, deudores.test
virtual_mailbox_base = {r}/mail
virtual_mailbox_maps = texthash:{r}/conf/mailboxes
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
relay_domains = rebote.test
transport_maps = texthash:{r}/conf/transport
maillog_file_prefixes = {r}
maillog_file = {r}/maillog
smtp_dns_support_level = disabled
alias_maps =
alias_database =
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
"
            ),
        );
        write(
            &p("conf/mailboxes"),
            &MAILBOXES
                .iter()
                .map(|m| {
                    let (user, domain) = m.split_once('@').unwrap();
                    format!("{m} {domain}/{user}/\n")
                })
                .collect::<String>(),
        );
        write(
            &p("conf/transport"),
            "rebote.test error:5.1.1 Usuario desconocido en rebote.test\n",
        );
        write(
            &p("conf/master.cf"),
            &format!(
                "127.0.0.1:{submission} inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes -o smtpd_client_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{mx} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
showq unix n - n - - showq
"
            ),
        );
        write(
            &p("conf/dovecot.conf"),
            &format!(
                "base_dir = {r}/dovecot/run
state_dir = {r}/dovecot/state
log_path = {r}/dovecot/log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:~
passdb {{
  driver = static
  args = password={MAIL_PASSWORD}
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={r}/mail/%d/%n allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  unix_listener {r}/queue/private/auth {{
    mode = 0666
  }}
}}
"
            ),
        );
        let conf = p("conf");
        let check = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(&conf)
            .arg("check")
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "postfix check: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let dovecot = Command::new("/usr/sbin/dovecot")
            .arg("-F")
            .arg("-c")
            .arg(p("conf/dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(imap, "Dovecot", &p("dovecot/log"));
        let postfix = Command::new("/usr/lib/postfix/sbin/master")
            .arg("-c")
            .arg(&conf)
            .arg("-d")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(submission, "Postfix", &p("maillog"));
        wait_port(mx, "Postfix", &p("maillog"));
        MailServer {
            dir,
            submission,
            mx,
            imap,
            postfix,
            dovecot,
        }
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.submission)
    }

    pub fn imap_url(&self) -> String {
        format!("imap://127.0.0.1:{}", self.imap)
    }

    /// The raw messages in a mailbox, oldest first.
    pub fn mailbox(&self, address: &str) -> Vec<String> {
        let (user, domain) = address.split_once('@').unwrap();
        let base = self.dir.path().join("mail").join(domain).join(user);
        let mut files: Vec<(std::time::SystemTime, String, PathBuf)> = ["new", "cur"]
            .iter()
            .flat_map(|d| std::fs::read_dir(base.join(d)).into_iter().flatten())
            .filter_map(|e| e.ok())
            .map(|e| {
                let path = e.path();
                let modified = e.metadata().and_then(|m| m.modified()).unwrap();
                (modified, path.display().to_string(), path)
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, _, path)| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned())
            .collect()
    }

    /// Waits until a mailbox holds `n` messages.
    pub async fn wait_for(&self, address: &str, n: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let found = self.mailbox(address);
            if found.len() >= n {
                return found;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{address} holds {} messages, not {n}; mail log:\n{}",
                found.len(),
                std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Mail from the outside world: handed to the inbound port like any other MTA would.
    pub async fn deliver(&self, from: &str, to: &str, raw: &str) {
        use lettre::address::Envelope;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.mx)
            .build();
        let envelope =
            Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
        transport
            .send_raw(&envelope, raw.replace('\n', "\r\n").as_bytes())
            .await
            .expect("the inbound port takes the message");
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        for child in [&mut self.postfix, &mut self.dovecot] {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

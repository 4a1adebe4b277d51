//! Command-line arguments (clap). Passwords are never taken on the command line: they
//! come from a prompt or from standard input (`--password-stdin`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "pillarbox", version, about = "Pillarbox mail server")]
pub struct Cli {
    /// Configuration file (TOML). Without one, the built-in defaults apply.
    #[arg(long, short = 'c', global = true, env = "PILLARBOX_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Log format (overrides `log.format`).
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
    },
    /// Check a configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage local domains.
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
    },
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Submit a message from standard input, like sendmail (`-t`, `-i`, `-f`, `-F`).
    Sendmail {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Inspect and steer the outbound queue.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Manage aliases (`*@domain` is the catch-all).
    Alias {
        #[command(subcommand)]
        command: AliasCommand,
    },
    /// Collect mail from remote POP3/IMAP mailboxes (MultiPOP, Internet Mail Accounts).
    Collect {
        #[command(subcommand)]
        command: CollectCommand,
    },
    /// Test a connection to an SMTP, IMAP or POP3 server step by step (DNS, TCP,
    /// proxy, TLS, greeting, capabilities, authentication).
    TestConnection(TestConnectionArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE without starting anything.
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a local domain.
    Add { name: String },
    /// List local domains.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a local domain (it must have no accounts).
    Remove { name: String },
    /// What mail clients of a domain are told (`[clients]`), in a client's format, or
    /// the DNS records that point clients here.
    Clients {
        name: String,
        #[arg(long, value_enum, default_value = "summary")]
        format: ClientsFormat,
        /// The address for autodiscover and mobileconfig (default: user@DOMAIN).
        #[arg(long)]
        address: Option<String>,
        /// The host serving autoconfig, for the dns format (default: server.hostname).
        #[arg(long)]
        http_host: Option<String>,
    },
}

/// `domain clients --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientsFormat {
    /// One line per server.
    Summary,
    /// Zone-file records: RFC 6186 SRV, autoconfig and autodiscover names.
    Dns,
    /// Thunderbird autoconfig XML.
    Autoconfig,
    /// Outlook autodiscover XML.
    Autodiscover,
    /// Apple configuration profile.
    Mobileconfig,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn get(self) -> bool {
        self == Switch::On
    }
}

/// Settings shared by `account add` and `account set`.
#[derive(Debug, Args, Default)]
pub struct AccountSettings {
    /// POP3 access.
    #[arg(long, value_enum)]
    pub pop: Option<Switch>,
    /// POP3 only from LAN addresses.
    #[arg(long, value_enum)]
    pub pop_lan_only: Option<Switch>,
    /// IMAP access.
    #[arg(long, value_enum)]
    pub imap: Option<Switch>,
    /// IMAP only from LAN addresses.
    #[arg(long, value_enum)]
    pub imap_lan_only: Option<Switch>,
    /// Collection from remote mailboxes (MultiPOP).
    #[arg(long, value_enum)]
    pub multipop: Option<Switch>,
    /// Connector (groupware) access; requires IMAP.
    #[arg(long, value_enum)]
    pub connector: Option<Switch>,
    /// Quota, e.g. 2GiB; 0 for unlimited.
    #[arg(long)]
    pub quota: Option<String>,
    /// Display name.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Disable (or re-enable) the account.
    #[arg(long, value_enum)]
    pub disabled: Option<Switch>,
    /// Per-account smart host login (empty string clears it).
    #[arg(long)]
    pub smarthost_user: Option<String>,
    /// Read the per-account smart host password from standard input.
    #[arg(long)]
    pub smarthost_password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account (password from a prompt or --password-stdin).
    Add {
        address: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: AccountSettings,
    },
    /// List accounts.
    List {
        /// Only this domain.
        domain: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one account.
    Show {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Change settings, e.g. `--pop off --imap-lan-only on`.
    Set {
        address: String,
        #[command(flatten)]
        settings: AccountSettings,
    },
    /// Set a new password.
    Passwd {
        address: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and its mail.
    Remove { address: String },
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add SOURCE -> TARGET.
    Add { source: String, target: String },
    /// List aliases.
    List {
        domain: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove SOURCE -> TARGET, or every target of SOURCE.
    Remove {
        source: String,
        target: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List queued messages with each recipient's status.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one queued message.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Try a message (or all) again now.
    Retry {
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
    /// Delete a message from the queue (no notice to the sender).
    Delete { id: i64 },
    /// Keep a message (or the whole queue) from being sent.
    Hold {
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
    /// Let held messages go again.
    Release {
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
    /// Send everything now and show progress until the queue has been worked through.
    Flush {
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum CollectCommand {
    /// Add a collection account; secrets come from standard input, one per line, in
    /// this order: password, proxy password, OAuth2 refresh token, OAuth2 client secret
    /// (each only when its --*-stdin flag is given).
    Add {
        name: String,
        #[command(flatten)]
        options: CollectOptions,
    },
    /// List collection accounts.
    List {
        /// Only this owner's.
        owner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one account's settings and last run.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Change settings of an account (same options as `add`).
    Set {
        name: String,
        #[command(flatten)]
        options: CollectOptions,
    },
    /// Delete an account (and what it remembers having collected).
    Remove { name: String },
    /// Collect now, with a progress bar and a summary.
    Run {
        name: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Test the account's connection and login step by step.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

/// Settings of a collection account; on `set`, only those given change.
#[derive(Debug, Args, Default)]
pub struct CollectOptions {
    /// The local account that owns it and receives its mail (needs MultiPOP on).
    #[arg(long)]
    pub owner: Option<String>,
    /// pop3 or imap.
    #[arg(long)]
    pub protocol: Option<String>,
    /// microsoft365 or gmail: server, port and TLS (and the OAuth2 endpoints).
    #[arg(long)]
    pub preset: Option<String>,
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    /// none, implicit (SSL) or starttls (TLS).
    #[arg(long)]
    pub tls: Option<String>,
    /// Allowed TLS versions, e.g. "1.2,1.3" or "1.3".
    #[arg(long)]
    pub tls_versions: Option<String>,
    /// Check the server certificate.
    #[arg(long, value_enum)]
    pub tls_verify: Option<Switch>,
    /// Connect and answer timeout, seconds.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Remote login name.
    #[arg(long)]
    pub user: Option<String>,
    /// The remote mailbox's address (default: the user name when it is an address).
    #[arg(long)]
    pub address: Option<String>,
    /// Read the remote password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Log in with OAuth2 (XOAUTH2) using this client id.
    #[arg(long)]
    pub oauth_client_id: Option<String>,
    #[arg(long)]
    pub oauth_tenant: Option<String>,
    #[arg(long)]
    pub oauth_token_url: Option<String>,
    #[arg(long)]
    pub oauth_scope: Option<String>,
    #[arg(long)]
    pub oauth_refresh_token_stdin: bool,
    #[arg(long)]
    pub oauth_client_secret_stdin: bool,
    /// Proxy: socks4://, socks4a://, socks5:// or http://[DOMAIN\]user@host:port
    /// ("none" removes it).
    #[arg(long)]
    pub proxy: Option<String>,
    #[arg(long)]
    pub proxy_password_stdin: bool,
    /// Time between runs, e.g. 10m.
    #[arg(long)]
    pub interval: Option<String>,
    /// Only collect inside these windows, e.g. "Mon-Fri 08:00-18:00" (repeat; "none" clears).
    #[arg(long)]
    pub window: Vec<String>,
    /// UTC offset the windows are written in, e.g. +01:00.
    #[arg(long)]
    pub timezone: Option<String>,
    /// Keep collected messages on the server (off: delete them once stored).
    #[arg(long, value_enum)]
    pub leave_on_server: Option<Switch>,
    /// With leave-on-server: delete messages this many days after collecting them (0: never).
    #[arg(long)]
    pub delete_after_days: Option<u32>,
    /// IMAP folders to collect (repeat; default INBOX).
    #[arg(long)]
    pub folder: Vec<String>,
    /// IMAP: flag collected messages \Seen.
    #[arg(long, value_enum)]
    pub mark_seen: Option<Switch>,
    /// IMAP: only collect unseen messages.
    #[arg(long, value_enum)]
    pub only_unseen: Option<Switch>,
    /// Charset for undeclared 8-bit text, e.g. windows-1252 ("" clears).
    #[arg(long)]
    pub code_page: Option<String>,
    /// Deliver into this folder of the owner's mailbox (default INBOX).
    #[arg(long, conflicts_with = "forward")]
    pub deliver_to: Option<String>,
    /// Forward to a downstream SMTP server through this [[queue.route]].
    #[arg(long)]
    pub forward: Option<String>,
    /// Forwarding recipient: remote (the remote address), headers (Delivered-To,
    /// X-Original-To, To), or a fixed address.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Collect on schedule (off: only by `collect run`).
    #[arg(long, value_enum)]
    pub enabled: Option<Switch>,
}

/// `pillarbox test-connection`.
#[derive(Debug, Args)]
pub struct TestConnectionArgs {
    /// smtp, imap or pop3.
    pub protocol: String,
    /// HOST or HOST:PORT (default port from the protocol and TLS mode).
    pub server: String,
    /// none, implicit or starttls (default from the port).
    #[arg(long)]
    pub tls: Option<String>,
    /// Allowed TLS versions, e.g. "1.2,1.3".
    #[arg(long)]
    pub tls_versions: Option<String>,
    /// Report an untrusted certificate instead of failing on it.
    #[arg(long)]
    pub no_verify: bool,
    /// Log in as this user (password from --password-stdin).
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub password_stdin: bool,
    /// socks4://, socks4a://, socks5:// or http:// proxy URL with optional user:pass@.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Timeout of each step, seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// EHLO name for SMTP (default: the server's host name).
    #[arg(long)]
    pub ehlo: Option<String>,
    #[arg(long)]
    pub json: bool,
}

//! Command-line arguments (clap). Passwords are never taken on the command line: they
//! come from a prompt or from standard input (`--password-stdin`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "pillarbox", version, about = "Pillarbox mail server")]
pub struct Cli {
    /// Configuration file (TOML). Without one: /etc/pillarbox/pillarbox.toml, then
    /// ./pillarbox.toml, then the built-in defaults.
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
    /// Set up a new server in one step: write a commented configuration (at --config,
    /// default ./pillarbox.toml), create the data directory, the first domain with its
    /// DKIM keys and an administrator account, and print the DNS records to publish.
    Init(InitArgs),
    /// Shell completions on standard output, e.g.
    /// `pillarbox completions bash > /etc/bash_completion.d/pillarbox`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (pillarbox.1 and one per command) into DIR.
    Man {
        /// The directory, e.g. /usr/local/share/man/man1.
        dir: PathBuf,
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
        /// sendmail options and recipients: -t (recipients from the header), -i (a lone dot does not end the message), -f SENDER, -F "Full Name", then the recipients.
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
    /// Sieve scripts: each account's, and the server-wide ones run before and after.
    Sieve {
        #[command(subcommand)]
        command: SieveCommand,
    },
    /// Simple rules without writing Sieve: forward, out of office, move to a folder
    /// (kept as the generated script "rules", which a Sieve editor can open).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Import mail from a Maildir (Dovecot's UIDs, flags and keywords kept) or mbox
    /// files (Thunderbird, mutt) into an account.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export an account's mail to a Maildir or mbox files.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Copy every folder of another IMAP server into an account (flags, keywords,
    /// dates; run again, it copies only what is new and updates flags).
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// A consistent online backup of the embedded store (database and messages) into
    /// PATH; run again into the same PATH, it copies only what is new. The secrets
    /// key is not included: keep it apart.
    Backup {
        /// The file or directory.
        path: std::path::PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Restore a backup made by `pillarbox backup` into the (empty) data directory.
    Restore {
        /// The file or directory.
        path: std::path::PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Messages held back by content scanning: list, show, release to their
    /// recipients, delete.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Spam filtering settings of accounts.
    Spam {
        #[command(subcommand)]
        command: SpamCommand,
    },
    /// The event log: logins, refusals, deliveries, errors... (filters combine).
    Events(EventsArgs),
    /// A message's timeline: received, checked, delivered, queued, each attempt, notices.
    Trace {
        /// A trace id (from the Received header or the 250 reply), a Message-ID, an
        /// address, or a queue id.
        key: String,
        /// Only traces seen within this long, e.g. 2d.
        #[arg(long, default_value = "30d")]
        since: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open sessions on every node.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Counters by minute, hour or day, and the queue now.
    Stats {
        /// minute, hour or day.
        #[arg(long, default_value = "hour")]
        by: String,
        /// How far back, e.g. 24h.
        #[arg(long)]
        since: Option<String>,
        /// One domain's counters (default: the totals).
        #[arg(long)]
        domain: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Alerts raised and cleared.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Webhooks: events posted as signed JSON to a URL.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// The store itself: move an installation into PostgreSQL, list a cluster's nodes.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Collect mail from remote POP3/IMAP mailboxes (MultiPOP, Internet Mail Accounts).
    Collect {
        #[command(subcommand)]
        command: CollectCommand,
    },
    /// Test a connection to an SMTP, IMAP or POP3 server step by step (DNS, TCP,
    /// proxy, TLS, greeting, capabilities, authentication).
    TestConnection(TestConnectionArgs),
    /// Failed-login locks: what is blocked now, and lifting a lock.
    Auth {
        #[command(subcommand)]
        command: crate::commands::auth::AuthCommand,
    },
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
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a local domain (it must have no accounts).
    Remove { name: String },
    /// What mail clients of a domain are told (`[clients]`), in a client's format, or
    /// the DNS records that point clients here.
    Clients {
        name: String,
        /// The format: thunderbird, outlook, apple or dns.
        #[arg(long, value_enum, default_value = "summary")]
        format: ClientsFormat,
        /// The address for autodiscover and mobileconfig (default: user@DOMAIN).
        #[arg(long)]
        address: Option<String>,
        /// The host serving autoconfig, for the dns format (default: server.hostname).
        #[arg(long)]
        http_host: Option<String>,
    },
    /// DKIM keys of a domain: generate, rotate, activate, show, remove.
    Dkim {
        #[command(subcommand)]
        command: DkimCommand,
    },
    /// Every DNS record the domain needs (MX, SPF, DKIM, DMARC, client SRV records), as
    /// zone-file lines.
    ///
    /// `domain dns check DOMAIN` looks every record up instead (through `[mail_auth]
    /// resolver`, else `[queue] resolver`, else the system's) and says, record by
    /// record, what is right, missing or wrong; it fails when something is.
    Dns {
        /// DOMAIN, or `check DOMAIN`.
        #[arg(num_args = 1..=2, required = true, value_name = "[check] DOMAIN")]
        args: Vec<String>,
        /// The host serving autoconfig (default: server.hostname).
        #[arg(long)]
        http_host: Option<String>,
    },
}

/// `pillarbox domain dkim ...`
#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Make the domain's first keys (RSA-2048 and Ed25519) and start signing with them;
    /// prints the TXT records to publish.
    Generate { domain: String },
    /// Make a new pair that waits (pending) while the current one goes on signing;
    /// publish its records, then `activate` it.
    Rotate { domain: String },
    /// Sign with the pending pair from now on (its records must be live); the pair it
    /// replaces is retired.
    Activate { domain: String },
    /// The keys with their selectors, states and TXT records.
    Show {
        /// The domain.
        domain: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove the domain's keys (mail from it goes out unsigned), or only the retired
    /// ones with --retired.
    Remove {
        /// The domain.
        domain: String,
        /// Also the retired keys.
        #[arg(long)]
        retired: bool,
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
        /// The account's full address.
        address: String,
        /// Read the password from standard input (its first line).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: AccountSettings,
    },
    /// List accounts.
    List {
        /// Only this domain.
        domain: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one account.
    Show {
        /// The account's full address.
        address: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change settings, e.g. `--pop off --imap-lan-only on`.
    Set {
        /// The account's full address.
        address: String,
        #[command(flatten)]
        settings: AccountSettings,
    },
    /// Set a new password.
    Passwd {
        /// The account's full address.
        address: String,
        /// Read the password from standard input (its first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and its mail (asks first on a terminal).
    Remove {
        /// The account's full address.
        address: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add SOURCE -> TARGET.
    Add { source: String, target: String },
    /// List aliases.
    List {
        /// The domain.
        domain: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove SOURCE -> TARGET, or every target of SOURCE.
    Remove {
        /// The alias address, or *@domain for the catch-all.
        source: String,
        /// Where it leads: one or more addresses, comma-separated.
        target: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List queued messages with each recipient's status.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one queued message.
    Show {
        /// The id, as the listing shows it.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Try a message (or all) again now.
    Retry {
        /// The id, as the listing shows it.
        id: Option<i64>,
        /// All of them.
        #[arg(long)]
        all: bool,
    },
    /// Delete a message from the queue (no notice to the sender).
    Delete { id: i64 },
    /// Keep a message (or the whole queue) from being sent.
    Hold {
        /// The id, as the listing shows it.
        id: Option<i64>,
        /// All of them.
        #[arg(long)]
        all: bool,
    },
    /// Let held messages go again.
    Release {
        /// The id, as the listing shows it.
        id: Option<i64>,
        /// All of them.
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
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one account's settings and last run.
    Show {
        name: String,
        /// Print JSON.
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
        /// All of them.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Test the account's connection and login step by step.
    Test {
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Settings of a collection account; on `set`, only those given change.
#[derive(Debug, Args, Default, Clone)]
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
    /// The server host name or address.
    #[arg(long)]
    pub host: Option<String>,
    /// The server port (default from the protocol and TLS mode).
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
    /// OAuth2: the Microsoft 365 tenant (default: common).
    #[arg(long)]
    pub oauth_tenant: Option<String>,
    /// OAuth2: the token endpoint (when no preset gives it).
    #[arg(long)]
    pub oauth_token_url: Option<String>,
    /// OAuth2: the scope to ask for.
    #[arg(long)]
    pub oauth_scope: Option<String>,
    /// OAuth2: read the refresh token from standard input.
    #[arg(long)]
    pub oauth_refresh_token_stdin: bool,
    /// OAuth2: read the client secret from standard input.
    #[arg(long)]
    pub oauth_client_secret_stdin: bool,
    /// Proxy: socks4://, socks4a://, socks5:// or http://[DOMAIN\]user@host:port
    /// ("none" removes it).
    #[arg(long)]
    pub proxy: Option<String>,
    /// Read the proxy's password from standard input.
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
    /// Also trust this CA certificate (PEM), e.g. a private CA or the server's own
    /// self-signed certificate.
    #[arg(long)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Log in as this user (password from --password-stdin).
    #[arg(long)]
    pub user: Option<String>,
    /// Read the password from standard input (first line).
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
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pillarbox store ...`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy this (embedded) installation into an empty PostgreSQL database, with
    /// progress; the server must be stopped. Then set `[store] engine = "postgres"`
    /// and `url`, and give every node this installation's secrets key.
    Migrate {
        /// The database: postgres://user:password@host:port/database[?sslmode=...]
        #[arg(long)]
        to: String,
        /// Extra CA certificate (PEM) for the database's TLS certificate.
        #[arg(long)]
        tls_ca_file: Option<std::path::PathBuf>,
        /// Do not verify the database's TLS certificate.
        #[arg(long)]
        no_tls_verify: bool,
    },
    /// The nodes sharing the store, with when each started and was last seen.
    Nodes {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `pillarbox events ...`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep printing new events as they come.
    #[arg(long)]
    pub follow: bool,
    /// From this long ago (e.g. 1h) or this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Until this long ago or this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Event types (repeat; `login.` matches every login event).
    #[arg(long = "type")]
    pub kinds: Vec<String>,
    /// Severities (repeat): info, notice, warning, error.
    #[arg(long)]
    pub severity: Vec<String>,
    /// The account (its full address).
    #[arg(long)]
    pub account: Option<String>,
    /// Only this client address.
    #[arg(long)]
    pub ip: Option<std::net::IpAddr>,
    /// Text the event contains.
    #[arg(long)]
    pub text: Option<String>,
    /// Most events shown (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `pillarbox sessions ...`
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Every open session: protocol, client, user, TLS, last command, bytes, mailbox.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End sessions (the seeds' Disconnect): one by id (NODE:ID in a cluster), or every
    /// session of a user or from an address.
    Kill {
        /// The id, as the listing shows it.
        id: Option<String>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// Only this client address.
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
    },
}

/// `pillarbox alerts ...`
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Every alert with its state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an alert: no more repeated mail while it stays raised.
    Ack { name: String },
}

/// `pillarbox webhooks ...`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Subscribe URL to events (`message.new`, `message.delivered`, `message.deferred`,
    /// `message.bounced`, `alert.raised`, `alert.cleared`, `login.failure_burst`; a
    /// prefix such as `message.`, or `*`). Prints the signing secret.
    Add {
        /// The URL events are posted to.
        url: String,
        /// Event types to send (repeat; empty: all).
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// An account's own subscription (only its events); default: server-wide.
        #[arg(long)]
        account: Option<String>,
        /// Read the signing secret from standard input (default: a random one).
        #[arg(long)]
        secret_stdin: bool,
    },
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    Remove {
        /// The id, as the listing shows it.
        id: i64,
    },
    /// The posts of a webhook, newest first, with attempts and errors.
    History {
        /// The id, as the listing shows it.
        id: i64,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SieveCommand {
    /// Compile FILE and report its errors with line and column, without storing it.
    Check { file: PathBuf },
    /// Store FILE ("-" for standard input) as the account's script NAME (it must
    /// compile).
    Put {
        /// The account (its full address).
        account: String,
        name: String,
        /// The Sieve script file.
        file: PathBuf,
        /// Also make it the active script.
        #[arg(long)]
        activate: bool,
    },
    /// List the account's scripts (the active one marked).
    List { account: String },
    /// Print a script.
    Show { account: String, name: String },
    /// Make NAME the active script; without NAME, no script is active.
    Activate {
        /// The account (its full address).
        account: String,
        name: Option<String>,
    },
    /// Rename a script.
    Rename {
        /// The account (its full address).
        account: String,
        /// The current name.
        old: String,
        /// The new name.
        new: String,
    },
    /// Remove a script (not the active one).
    Remove { account: String, name: String },
    /// Set a server-wide script: WHEN is before, after (around every account's own
    /// script) or global (for `include :global` under --name).
    ServerSet {
        /// before or after (the account scripts).
        when: String,
        /// The Sieve script file.
        file: PathBuf,
        /// Only for this domain's accounts (before/after).
        #[arg(long)]
        domain: Option<String>,
        /// The name `include :global` uses (global).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a server-wide script.
    ServerRemove {
        /// before or after (the account scripts).
        when: String,
        /// The domain.
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    /// List the server-wide scripts.
    ServerList,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Forward the account's mail to ADDRESS (--keep: and keep a copy).
    Forward {
        /// The account (its full address).
        account: String,
        /// The account's full address.
        address: String,
        /// Keep a copy in the mailbox too.
        #[arg(long)]
        keep: bool,
    },
    /// Answer mail while away, once per sender per --days, between --start and --end
    /// (YYYY-MM-DD, both optional).
    Vacation {
        /// The account (its full address).
        account: String,
        /// The reply text.
        #[arg(long)]
        text: String,
        /// The reply subject.
        #[arg(long)]
        subject: Option<String>,
        /// Answer each sender at most once in this many days.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        start: Option<String>,
        /// Last day (YYYY-MM-DD).
        #[arg(long)]
        end: Option<String>,
    },
    /// Move mail whose From contains --from into FOLDER (created if missing).
    Move {
        /// The account (its full address).
        account: String,
        /// Text the From field contains.
        #[arg(long)]
        from: String,
        /// The folder to move it to (created if missing).
        folder: String,
    },
    /// Show the rules and the script they make.
    List { account: String },
    /// Remove every rule of a kind (forward, vacation, move) or all of them.
    Clear {
        /// The account (its full address).
        account: String,
        /// forward, vacation or move (default: all).
        kind: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// The quarantined messages, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One quarantined message: its verdict and its header (--raw: the whole message).
    Show {
        /// The id, as the listing shows it.
        id: i64,
        /// The whole message, as stored.
        #[arg(long)]
        raw: bool,
    },
    /// Deliver a quarantined message to its recipients (unscanned) and remove it.
    Release { id: i64 },
    /// Delete a quarantined message.
    Delete { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum SpamCommand {
    /// The score at or above which ACCOUNT's mail goes to its Junk mailbox (without
    /// SCORE: show it; --clear: back to the domain's or the server's).
    Threshold {
        /// The account (its full address).
        account: String,
        /// The spam score.
        score: Option<f64>,
        /// Remove the setting.
        #[arg(long)]
        clear: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Maildir or Maildir++ tree (its `.Folder`s become mailboxes).
    Maildir(TransferArgs),
    /// An mbox file, or a directory of them (Thunderbird's `Name.sbd/` too).
    Mbox(TransferArgs),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// To a Maildir++ tree with dovecot-uidlist and dovecot-keywords.
    Maildir(TransferArgs),
    /// To mboxrd: one file (with --mailbox) or a directory of them.
    Mbox(TransferArgs),
}

#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// The file or directory to read or write.
    pub path: std::path::PathBuf,
    /// The account.
    #[arg(long)]
    pub account: String,
    /// One mailbox (import: where the root goes; export: the only one written).
    #[arg(long)]
    pub mailbox: Option<String>,
    /// mbox only: the mboxrd variant (every `>…From ` line quoted once more), not
    /// mboxo (what mutt, Thunderbird and Python write).
    #[arg(long)]
    pub mboxrd: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// From an IMAP server: `--from imaps://imap.example.net` (or imap://, with
    /// STARTTLS) or the connection options of `collect add` (--host, --port, --tls,
    /// --proxy, --preset microsoft365|gmail with OAuth2, ...).
    Imap {
        /// The local account that receives the mail.
        #[arg(long)]
        account: String,
        /// imaps://host[:port] or imap://host[:port].
        #[arg(long)]
        from: Option<String>,
        #[command(flatten)]
        options: CollectOptions,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The server's fully-qualified name, the one the MX record will point to.
    #[arg(long)]
    pub hostname: String,
    /// The first mail domain.
    #[arg(long)]
    pub domain: String,
    /// The administrator's address (default: postmaster@DOMAIN).
    #[arg(long)]
    pub admin: Option<String>,
    /// Read the administrator's password from standard input (its first line).
    #[arg(long)]
    pub password_stdin: bool,
    /// Where the data goes (default: /var/lib/pillarbox for a configuration in
    /// /etc/pillarbox, else pillarbox-data beside the configuration).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Listen on the standard ports (25, 465, 587, 143, 993, 110, 995, 80, 443, 4190)
    /// of every address, instead of 127.0.0.1 and unprivileged ports.
    #[arg(long)]
    pub public: bool,
    /// Overwrite an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

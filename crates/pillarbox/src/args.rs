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

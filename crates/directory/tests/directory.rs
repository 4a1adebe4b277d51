//! The directory against a real store: authentication with every hash scheme, the
//! failure limits per (address, account) and per address, the CLI's
//! view of the locks, policy at login, and address resolution.

use std::net::IpAddr;

use pillarbox_config::{AuthSection, IpRanges, Seconds};
use pillarbox_directory::{
    AuthError, Credentials, Directory, PolicyDenial, Resolution, Service, UnblockTarget,
};
use pillarbox_store::{AccountUpdate, Role, ServiceFlags, Store};

async fn directory(dir: &std::path::Path, max_failures: u32) -> Directory {
    let store = Store::open(dir, Role::Server).unwrap();
    store.domain_create("example.test").await.unwrap();
    let auth = AuthSection {
        max_failures,
        failure_window: Seconds::secs(60),
        lockout: Seconds::secs(300),
        ..AuthSection::default()
    };
    Directory::new(store, IpRanges::from_static(&["127.0.0.0/8"]), &auth)
}

fn creds(u: &str, p: &str) -> Credentials {
    Credentials {
        username: u.into(),
        password: p.into(),
    }
}

const LAN: &str = "127.0.0.1";
const WAN: &str = "203.0.113.7";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn argon2id_account_right_and_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 100).await;
    d.add_account("alice@example.test", "s3cret", ServiceFlags::default())
        .await
        .unwrap();
    let a = d
        .authenticate(
            &creds("alice@example.test", "s3cret"),
            Service::Imap,
            ip(LAN),
        )
        .await
        .unwrap();
    assert_eq!(a.address(), "alice@example.test");
    // Case-insensitive login name.
    d.authenticate(
        &creds("Alice@Example.TEST", "s3cret"),
        Service::Imap,
        ip(LAN),
    )
    .await
    .unwrap();
    assert!(matches!(
        d.authenticate(
            &creds("alice@example.test", "wrong"),
            Service::Imap,
            ip(LAN)
        )
        .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        d.authenticate(
            &creds("nobody@example.test", "s3cret"),
            Service::Imap,
            ip(LAN)
        )
        .await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn imported_hashes_verify_and_are_upgraded_to_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 100).await;
    let imported = [
        "{SHA512-CRYPT}$6$geayLIt13qNvQphO$QrrOXP.5nhTdg/4EfZdlaJ8uHIaywulOob18XDWeQwoDusUgX1vZplDq9ZFuLNMNImf4oBGwRb5kaDOmhAImx1",
        "{SHA256-CRYPT}$5$onK0ffauYrkur/jK$E3TXg4UW1SpthzD8uHNHxWmLLrgRdYO2pSI23Qe9SVA",
        "{BLF-CRYPT}$2y$05$/.c9dvYv4HXJmn6jcui6s.0EtYC.ahOgKZazFCrG6F67a1DI3cYja",
    ];
    for (i, hash) in imported.iter().enumerate() {
        let user = format!("u{i}@example.test");
        d.store()
            .account_create(&user, hash, ServiceFlags::default())
            .await
            .unwrap();
        assert!(
            d.authenticate(&creds(&user, "wrong horse"), Service::Pop3, ip(LAN))
                .await
                .is_err()
        );
        d.authenticate(&creds(&user, "correct horse"), Service::Pop3, ip(LAN))
            .await
            .unwrap();
        let stored = d
            .store()
            .account_get(&user)
            .await
            .unwrap()
            .unwrap()
            .password_hash;
        assert!(stored.starts_with("$argon2id$"), "rehashed: {stored}");
        d.authenticate(&creds(&user, "correct horse"), Service::Pop3, ip(LAN))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn failure_limit_refuses_one_ip_while_another_gets_through() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 3).await;
    d.add_account("bob@example.test", "pw", ServiceFlags::default())
        .await
        .unwrap();
    let attacker = ip("192.0.2.50");
    for _ in 0..3 {
        assert!(matches!(
            d.authenticate(&creds("bob@example.test", "guess"), Service::Imap, attacker)
                .await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    // Now even the right password is refused from that address...
    let err = d
        .authenticate(&creds("bob@example.test", "pw"), Service::Imap, attacker)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::RateLimited(_)));
    assert!(err.to_string().contains("too many failed logins"));
    // ...while another address logs in.
    d.authenticate(
        &creds("bob@example.test", "pw"),
        Service::Imap,
        ip("192.0.2.51"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn policy_is_applied_after_a_correct_password_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 100).await;
    let flags = ServiceFlags {
        pop: false,
        imap_lan_only: true,
        ..ServiceFlags::default()
    };
    d.add_account("carol@example.test", "pw", flags)
        .await
        .unwrap();
    let c = creds("carol@example.test", "pw");
    assert!(matches!(
        d.authenticate(&c, Service::Pop3, ip(LAN)).await,
        Err(AuthError::Denied(PolicyDenial::Disabled(Service::Pop3)))
    ));
    assert!(matches!(
        d.authenticate(&c, Service::Imap, ip(WAN)).await,
        Err(AuthError::Denied(PolicyDenial::LanOnly { .. }))
    ));
    d.authenticate(&c, Service::Imap, ip(LAN)).await.unwrap();
    // A wrong password never reveals the policy.
    assert!(matches!(
        d.authenticate(&creds("carol@example.test", "x"), Service::Pop3, ip(LAN))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn connector_cannot_be_enabled_without_imap() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 100).await;
    let bad = ServiceFlags {
        imap: false,
        connector: true,
        ..ServiceFlags::default()
    };
    let err = d
        .add_account("dave@example.test", "pw", bad)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("requires IMAP"), "{err}");
    let a = d
        .add_account("dave@example.test", "pw", ServiceFlags::default())
        .await
        .unwrap();
    let err = d
        .update_account(
            &a,
            AccountUpdate {
                services: Some(bad),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("requires IMAP"));
}

#[tokio::test]
async fn resolution_of_accounts_aliases_subaddresses_and_catch_all() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 100).await;
    let s = d.store();
    let alice = d
        .add_account("alice@example.test", "pw", ServiceFlags::default())
        .await
        .unwrap();
    let bob = d
        .add_account("bob@example.test", "pw", ServiceFlags::default())
        .await
        .unwrap();
    s.alias_create("sales@example.test", "alice@example.test")
        .await
        .unwrap();
    s.alias_create("sales@example.test", "bob@example.test")
        .await
        .unwrap();
    s.alias_create("sales@example.test", "partner@remote.example")
        .await
        .unwrap();
    s.alias_create("loop1@example.test", "loop2@example.test")
        .await
        .unwrap();
    s.alias_create("loop2@example.test", "loop1@example.test")
        .await
        .unwrap();

    let ids = |r: Resolution| match r {
        Resolution::Deliver { local, remote } => {
            (local.into_iter().map(|a| a.id).collect::<Vec<_>>(), remote)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ids(d.resolve("alice@example.test").await.unwrap()),
        (vec![alice.id], vec![])
    );
    assert_eq!(
        ids(d.resolve("ALICE+news@Example.test").await.unwrap()),
        (vec![alice.id], vec![])
    );
    assert_eq!(
        ids(d.resolve("sales@example.test").await.unwrap()),
        (
            vec![alice.id, bob.id],
            vec!["partner@remote.example".to_string()]
        )
    );
    assert_eq!(
        d.resolve("nobody@example.test").await.unwrap(),
        Resolution::Unknown
    );
    assert_eq!(
        d.resolve("loop1@example.test").await.unwrap(),
        Resolution::Unknown
    );
    assert_eq!(
        d.resolve("x@elsewhere.example").await.unwrap(),
        Resolution::NotLocal
    );

    s.alias_create("*@example.test", "bob@example.test")
        .await
        .unwrap();
    assert_eq!(
        ids(d.resolve("nobody@example.test").await.unwrap()),
        (vec![bob.id], vec![])
    );
    // The catch-all does not override a real account.
    assert_eq!(
        ids(d.resolve("alice@example.test").await.unwrap()),
        (vec![alice.id], vec![])
    );

    assert!(d.may_send_as(&alice, "alice@example.test").await.unwrap());
    assert!(
        d.may_send_as(&alice, "alice+tag@example.test")
            .await
            .unwrap()
    );
    assert!(d.may_send_as(&alice, "sales@example.test").await.unwrap());
    assert!(!d.may_send_as(&alice, "bob@example.test").await.unwrap());
    assert!(
        !d.may_send_as(&alice, "ceo@example.test").await.unwrap(),
        "catch-all is not a sender identity"
    );
}

#[tokio::test]
async fn verified_logins_are_cached_and_a_new_password_applies_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = directory(dir.path(), 100).await;
    let alice = d
        .add_account("alice@example.test", "old", ServiceFlags::default())
        .await
        .unwrap();
    let login = |u: &'static str, p: &'static str| {
        let d = d.clone();
        async move {
            d.authenticate(&creds(u, p), Service::Imap, ip(LAN))
                .await
                .map(|a| a.address())
        }
    };
    // The first login is verified against the hash, the next ones come from the cache
    // (the same name in another case too).
    login("alice@example.test", "old").await.unwrap();
    let hashed = d.password_verifications();
    login("alice@example.test", "old").await.unwrap();
    login("ALICE@example.test", "old").await.unwrap();
    assert_eq!(d.password_verifications(), hashed);
    // A wrong password is never answered from the cache, and a failed login purges
    // the account's entries: the next good login is verified again.
    assert!(login("alice@example.test", "guess").await.is_err());
    login("alice@example.test", "old").await.unwrap();
    assert_eq!(d.password_verifications(), hashed + 2);

    // A password change through the directory: the old password fails at once, the new
    // one works.
    d.set_password(&alice, "new").await.unwrap();
    assert!(matches!(
        login("alice@example.test", "old").await,
        Err(AuthError::InvalidCredentials)
    ));
    login("alice@example.test", "new").await.unwrap();
    login("alice@example.test", "new").await.unwrap();

    // A change made straight in the store (the CLI, another process): the cached entry
    // no longer matches the stored hash.
    let other = Directory::new(
        d.store().clone(),
        IpRanges::from_static(&["127.0.0.0/8"]),
        &AuthSection::default(),
    );
    other.set_password(&alice, "newer").await.unwrap();
    assert!(matches!(
        login("alice@example.test", "new").await,
        Err(AuthError::InvalidCredentials)
    ));
    login("alice@example.test", "newer").await.unwrap();
    // And through update_account.
    let fresh = d
        .store()
        .account_get("alice@example.test")
        .await
        .unwrap()
        .unwrap();
    let hash = fresh.password_hash.clone();
    login("alice@example.test", "newer").await.unwrap();
    d.update_account(
        &fresh,
        AccountUpdate {
            password_hash: Some(format!("{hash}x")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(login("alice@example.test", "newer").await.is_err());
}

#[tokio::test]
async fn a_zero_ttl_turns_the_login_cache_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Role::Server).unwrap();
    store.domain_create("example.test").await.unwrap();
    let auth = AuthSection {
        login_cache_ttl: Seconds::secs(0),
        ..AuthSection::default()
    };
    let d = Directory::new(store, IpRanges::from_static(&["127.0.0.0/8"]), &auth);
    d.add_account("bob@example.test", "pw", ServiceFlags::default())
        .await
        .unwrap();
    for _ in 0..3 {
        d.authenticate(&creds("bob@example.test", "pw"), Service::Pop3, ip(LAN))
            .await
            .unwrap();
    }
    assert_eq!(d.password_verifications(), 3);
}

async fn limited(dir: &std::path::Path, max: u32, per_address: u32) -> Directory {
    let store = Store::open(dir, Role::Server).unwrap();
    store.domain_create("example.test").await.unwrap();
    let auth = AuthSection {
        max_failures: max,
        max_failures_per_address: per_address,
        failure_window: Seconds::secs(60),
        lockout: Seconds::secs(300),
        ..AuthSection::default()
    };
    let d = Directory::new(store, IpRanges::default(), &auth)
        .with_trusted(IpRanges::from_static(&["10.0.0.0/8"]));
    for user in ["alice", "bob"] {
        d.add_account(
            &format!("{user}@example.test"),
            "pw",
            ServiceFlags::default(),
        )
        .await
        .unwrap();
    }
    d
}

async fn try_login(d: &Directory, user: &str, pw: &str, from: &str) -> Result<(), AuthError> {
    d.authenticate(&creds(user, pw), Service::Imap, ip(from))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn one_account_is_locked_from_an_address_while_another_logs_in_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = limited(dir.path(), 3, 50).await;
    let from = "192.0.2.9";
    for _ in 0..3 {
        assert!(matches!(
            try_login(&d, "bob@example.test", "guess", from).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        try_login(&d, "bob@example.test", "pw", from).await,
        Err(AuthError::RateLimited(_))
    ));
    try_login(&d, "alice@example.test", "pw", from)
        .await
        .unwrap();
    try_login(&d, "bob@example.test", "pw", "192.0.2.10")
        .await
        .unwrap();
    // Listed for the CLI, and lifted by it.
    let blocked = pillarbox_directory::lockouts::blocked(d.store())
        .await
        .unwrap();
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0].key.account.as_deref(), Some("bob@example.test"));
    assert_eq!(blocked[0].key.source, ip(from));
    assert!(blocked[0].remaining().as_secs() > 290);
    let lifted = pillarbox_directory::lockouts::unblock(
        d.store(),
        &UnblockTarget::parse("Bob@Example.test"),
        std::time::Duration::from_secs(300),
    )
    .await
    .unwrap();
    assert_eq!(lifted, blocked);
    try_login(&d, "bob@example.test", "pw", from).await.unwrap();
    assert!(
        pillarbox_directory::lockouts::blocked(d.store())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_address_is_locked_as_a_whole_at_the_higher_threshold_unless_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let d = limited(dir.path(), 3, 8).await;
    for (from, trusted) in [("192.0.2.9", false), ("10.1.2.3", true)] {
        // Two failures for each of four names: no account reaches 3, the address 8.
        for i in 0..8 {
            let user = format!("user{}@example.test", i % 4);
            assert!(matches!(
                try_login(&d, &user, "guess", from).await,
                Err(AuthError::InvalidCredentials)
            ));
        }
        let alice = try_login(&d, "alice@example.test", "pw", from).await;
        if trusted {
            alice.unwrap();
        } else {
            assert!(matches!(alice, Err(AuthError::RateLimited(_))), "{alice:?}");
        }
    }
    let blocked = pillarbox_directory::lockouts::blocked(d.store())
        .await
        .unwrap();
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(
        blocked[0].key,
        pillarbox_directory::LockKey::address(ip("192.0.2.9"))
    );
    pillarbox_directory::lockouts::unblock(
        d.store(),
        &UnblockTarget::parse("192.0.2.9"),
        std::time::Duration::from_secs(300),
    )
    .await
    .unwrap();
    try_login(&d, "alice@example.test", "pw", "192.0.2.9")
        .await
        .unwrap();
}

#[tokio::test]
async fn only_trusted_hosts_may_name_the_client_they_speak_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = limited(dir.path(), 3, 50).await;
    assert_eq!(
        d.originating_peer(ip("10.0.0.5"), "198.51.100.4"),
        Some(ip("198.51.100.4"))
    );
    assert_eq!(
        d.originating_peer(ip("10.0.0.5"), "[2001:db8::1]"),
        Some(ip("2001:db8::1"))
    );
    assert_eq!(d.originating_peer(ip("10.0.0.5"), "not an address"), None);
    assert_eq!(d.originating_peer(ip("192.0.2.1"), "198.51.100.4"), None);
}

//! Monitoring records through the store, on both engines: the event log and its
//! filters, traces and the keys they are found by, counters, published sessions and
//! kill requests, alerts, webhooks and their outbox (in order per webhook, one post at
//! a time).

mod common;

use common::Env;
use pillarbox_store::{
    Alert, Event, EventFilter, OutboxResult, Role, SessionInfo, StatDelta, TraceStep,
};

conformance!(
    events_are_found_by_time_kind_severity_account_ip_and_text,
    traces_are_found_by_their_keys,
    counters_add_up_per_bucket_and_domain,
    sessions_and_kill_requests,
    alerts_and_their_acknowledgement,
    webhook_posts_go_out_in_order_one_at_a_time,
);

fn event(
    at: i64,
    kind: &str,
    severity: &str,
    account: Option<&str>,
    ip: Option<&str>,
    text: &str,
) -> Event {
    Event {
        id: 0,
        eid: format!("e{at}"),
        at_ms: at,
        kind: kind.into(),
        severity: severity.into(),
        node: "node-a".into(),
        account: account.map(str::to_string),
        domain: None,
        trace: None,
        queue_id: None,
        session: Some("17".into()),
        ip: ip.map(str::to_string),
        text: text.into(),
    }
}

async fn events_are_found_by_time_kind_severity_account_ip_and_text(env: Env) {
    let store = env.open(Role::Server);
    store
        .events_append(vec![
            event(
                1000,
                "login.ok",
                "info",
                Some("bob@example.test"),
                Some("192.0.2.1"),
                "bob logged in",
            ),
            event(
                2000,
                "login.failed",
                "warning",
                Some("bob@example.test"),
                Some("192.0.2.9"),
                "wrong password for bob",
            ),
            event(
                3000,
                "smtp.rejected",
                "notice",
                None,
                Some("192.0.2.9"),
                "550 5.1.1 <x@example.test>: 100% no such user",
            ),
            event(4000, "server.start", "info", None, None, "started"),
        ])
        .await
        .unwrap();
    let q = |f: EventFilter| {
        let store = store.clone();
        async move {
            store
                .events_query(EventFilter { limit: 100, ..f })
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(q(EventFilter::default()).await.len(), 4);
    assert_eq!(
        q(EventFilter {
            kinds: vec!["login.".into()],
            ..Default::default()
        })
        .await,
        vec!["login.ok", "login.failed"]
    );
    assert_eq!(
        q(EventFilter {
            severities: vec!["warning".into(), "notice".into()],
            ..Default::default()
        })
        .await,
        vec!["login.failed", "smtp.rejected"]
    );
    assert_eq!(
        q(EventFilter {
            account: Some("BOB@example.test".into()),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        q(EventFilter {
            ip: Some("192.0.2.9".into()),
            ..Default::default()
        })
        .await,
        vec!["login.failed", "smtp.rejected"]
    );
    // The text is searched as text: '%' and '_' are not wildcards.
    assert_eq!(
        q(EventFilter {
            text: Some("100% NO".into()),
            ..Default::default()
        })
        .await,
        vec!["smtp.rejected"]
    );
    assert!(
        q(EventFilter {
            text: Some("1_0".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        q(EventFilter {
            since_ms: Some(2000),
            until_ms: Some(3000),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    // The newest ones, in order; and following from an id.
    let last_two = store
        .events_query(EventFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(last_two.len(), 2);
    assert_eq!(last_two[1].kind, "server.start");
    let after = store
        .events_query(EventFilter {
            after_id: Some(last_two[0].id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    // Gone after the retention.
    store.monitor_purge(2500, vec![]).await.unwrap();
    assert_eq!(
        q(EventFilter::default()).await,
        vec!["smtp.rejected", "server.start"]
    );
}

async fn traces_are_found_by_their_keys(env: Env) {
    let store = env.open(Role::Server);
    let step = |trace: &str, at: i64, step: &str, keys: &[&str]| TraceStep {
        trace: trace.into(),
        at_ms: at,
        step: step.into(),
        node: "node-a".into(),
        detail: "{}".into(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
    };
    store
        .trace_append(vec![
            step(
                "T1",
                1000,
                "received",
                &["<m1@example.test>", "bob@example.test"],
            ),
            step("T1", 1001, "queued", &["queue:5"]),
            step(
                "T2",
                2000,
                "received",
                &["<m2@example.test>", "bob@example.test"],
            ),
            step("T1", 3000, "attempt", &[]),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.trace_find("<M1@example.test>", 0).await.unwrap(),
        vec!["T1"]
    );
    assert_eq!(store.trace_find("queue:5", 0).await.unwrap(), vec!["T1"]);
    assert_eq!(store.trace_find("T2", 0).await.unwrap(), vec!["T2"]);
    assert_eq!(
        store.trace_find("bob@example.test", 0).await.unwrap(),
        vec!["T2", "T1"]
    );
    assert_eq!(
        store.trace_find("bob@example.test", 1500).await.unwrap(),
        vec!["T2"]
    );
    let steps: Vec<String> = store
        .trace_steps("T1")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.step)
        .collect();
    assert_eq!(steps, vec!["received", "queued", "attempt"]);
}

async fn counters_add_up_per_bucket_and_domain(env: Env) {
    let store = env.open(Role::Server);
    let d = |bucket: i64, name: &str, domain: &str, delta: i64| StatDelta {
        granularity: "h",
        bucket,
        name: name.into(),
        domain: domain.into(),
        delta,
    };
    store
        .stats_add(vec![
            d(3600, "received", "", 2),
            d(3600, "received", "example.test", 2),
        ])
        .await
        .unwrap();
    store
        .stats_add(vec![d(3600, "received", "", 3), d(7200, "received", "", 1)])
        .await
        .unwrap();
    let all = store.stats_query("h", 0, "").await.unwrap();
    assert_eq!(
        all.iter().map(|v| (v.bucket, v.value)).collect::<Vec<_>>(),
        vec![(3600, 5), (7200, 1)]
    );
    assert_eq!(
        store.stats_query("h", 0, "example.test").await.unwrap()[0].value,
        2
    );
    assert!(store.stats_query("d", 0, "").await.unwrap().is_empty());
    store.monitor_purge(0, vec![("h", 7200)]).await.unwrap();
    assert_eq!(store.stats_query("h", 0, "").await.unwrap().len(), 1);
}

async fn sessions_and_kill_requests(env: Env) {
    let store = env.open(Role::Server);
    let s = |id: i64| SessionInfo {
        node: "node-a".into(),
        id,
        protocol: "imap".into(),
        listener: "imap".into(),
        ip: "192.0.2.1".into(),
        user: Some("bob@example.test".into()),
        tls: Some("TLSv1.3".into()),
        started_ms: 1,
        last_command: "IDLE".into(),
        bytes_in: 10,
        bytes_out: 20,
        mailbox: Some("INBOX".into()),
    };
    store
        .sessions_publish("node-a", vec![s(1), s(2)])
        .await
        .unwrap();
    assert_eq!(store.sessions_list(60_000).await.unwrap().len(), 2);
    store.sessions_publish("node-a", vec![s(2)]).await.unwrap();
    assert_eq!(store.sessions_list(60_000).await.unwrap()[0].id, 2);
    let k1 = store.session_kill("id:2").await.unwrap();
    let k2 = store.session_kill("user:bob@example.test").await.unwrap();
    assert_eq!(
        store.session_kills_since(0).await.unwrap(),
        vec![
            (k1, "id:2".to_string()),
            (k2, "user:bob@example.test".to_string())
        ]
    );
    assert_eq!(store.session_kills_since(k1).await.unwrap().len(), 1);
}

async fn alerts_and_their_acknowledgement(env: Env) {
    let store = env.open(Role::Server);
    let a = Alert {
        name: "queue.size".into(),
        active: true,
        detail: "120 recipients queued (over 100)".into(),
        raised_ms: Some(5),
        cleared_ms: None,
        notified_ms: Some(5),
        acked: false,
    };
    store.alert_put(a.clone()).await.unwrap();
    assert_eq!(store.alerts_list().await.unwrap(), vec![a.clone()]);
    assert!(store.alert_ack("queue.size").await.unwrap());
    assert!(!store.alert_ack("nothing").await.unwrap());
    assert!(store.alerts_list().await.unwrap()[0].acked);
}

async fn webhook_posts_go_out_in_order_one_at_a_time(env: Env) {
    let store = env.open(Role::Server);
    let w = store
        .webhook_create(
            None,
            "http://127.0.0.1:1/hook",
            "s3cret",
            vec!["message.new".into()],
        )
        .await
        .unwrap();
    assert_eq!(w.secret, "s3cret");
    let w2 = store
        .webhook_create(None, "http://127.0.0.1:2/hook", "k", vec!["alert.".into()])
        .await
        .unwrap();
    assert_eq!(store.webhook_list(None).await.unwrap().len(), 2);
    store
        .outbox_enqueue(vec![
            (w.id, "message.new".into(), "{\"n\":1}".into()),
            (w.id, "message.new".into(), "{\"n\":2}".into()),
            (w2.id, "alert.raised".into(), "{}".into()),
        ])
        .await
        .unwrap();
    let now = i64::MAX / 4;
    let first = store.outbox_lease(now, now + 1000).await.unwrap();
    // The head of each webhook's queue only.
    assert_eq!(
        first.iter().map(|i| i.payload.as_str()).collect::<Vec<_>>(),
        vec!["{\"n\":1}", "{}"]
    );
    assert!(
        store
            .outbox_lease(now, now + 1000)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    store
        .outbox_record(
            first[0].id,
            OutboxResult::Retry {
                next_ms: now + 10,
                error: "HTTP 500".into(),
            },
        )
        .await
        .unwrap();
    store
        .outbox_record(first[1].id, OutboxResult::Delivered)
        .await
        .unwrap();
    // The retried post is still the head: the second one waits behind it.
    assert!(
        store
            .outbox_lease(now + 5, now + 1000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.outbox_next_due().await.unwrap(), Some(now + 10));
    let again = store.outbox_lease(now + 10, now + 1000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].payload, "{\"n\":1}");
    store
        .outbox_record(again[0].id, OutboxResult::Delivered)
        .await
        .unwrap();
    let next = store.outbox_lease(now + 10, now + 1000).await.unwrap();
    assert_eq!(next[0].payload, "{\"n\":2}");
    let history = store.outbox_history(w.id, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].attempts, 2);
    assert_eq!(history[1].last_error.as_deref(), Some("HTTP 500"));
    store.webhook_delete(w.id).await.unwrap();
    assert_eq!(store.webhook_list(None).await.unwrap().len(), 1);
}

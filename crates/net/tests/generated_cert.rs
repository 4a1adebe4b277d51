//! The generated server certificate: subject and SANs are the host name and the local
//! domains' provisioning names, it is valid for about a year, and a start close to its
//! end (or with new names) makes a new one.

use std::time::{Duration, SystemTime};

use pillarbox_config::TlsSection;
use pillarbox_net::ServerTls;
use pillarbox_net::tls::server::{generated_names, needs_renewal};
use x509_parser::extensions::GeneralName;

const DAY: u64 = 24 * 3600;

struct Fields {
    cn: String,
    sans: Vec<String>,
    not_before: i64,
    not_after: i64,
}

fn fields(pem: &[u8]) -> Fields {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let sans = cert
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect();
    Fields {
        cn,
        sans,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn domains() -> Vec<String> {
    vec!["example.test".into(), "Other.TEST".into()]
}

#[test]
fn generated_certificate_names_the_host_and_provisioning_names_for_a_year() {
    let dir = tempfile::tempdir().unwrap();
    let tls = ServerTls::load_for_domains(
        &TlsSection::default(),
        dir.path(),
        "mail.example.test",
        &domains(),
    )
    .unwrap();
    assert!(tls.is_generated());
    let pem = std::fs::read(tls.certificate_path()).unwrap();
    let f = fields(&pem);
    assert_eq!(f.cn, "mail.example.test");
    for name in [
        "mail.example.test",
        "autoconfig.example.test",
        "autodiscover.example.test",
        "mta-sts.example.test",
        "autoconfig.other.test",
        "autodiscover.other.test",
        "mta-sts.other.test",
    ] {
        assert!(f.sans.iter().any(|s| s == name), "{name} in {:?}", f.sans);
    }
    let now = now();
    assert!(f.not_before <= now && f.not_before > now - 2 * DAY as i64);
    let left = f.not_after - now;
    assert!(
        left > 360 * DAY as i64 && left <= 366 * DAY as i64,
        "valid for about a year, not {left} s"
    );
    // A second start keeps it.
    let again = ServerTls::load_for_domains(
        &TlsSection::default(),
        dir.path(),
        "mail.example.test",
        &domains(),
    )
    .unwrap();
    assert_eq!(std::fs::read(again.certificate_path()).unwrap(), pem);
    // ...and so does a start without the domains (its names are a superset).
    ServerTls::load(&TlsSection::default(), dir.path(), "mail.example.test").unwrap();
    assert_eq!(std::fs::read(again.certificate_path()).unwrap(), pem);
}

#[test]
fn renewal_is_due_within_30_days_of_the_end_or_when_names_change() {
    let dir = tempfile::tempdir().unwrap();
    let tls = ServerTls::load_for_domains(
        &TlsSection::default(),
        dir.path(),
        "mail.example.test",
        &domains(),
    )
    .unwrap();
    let pem = std::fs::read(tls.certificate_path()).unwrap();
    let names = generated_names("mail.example.test", &domains());
    let t = SystemTime::now();
    assert_eq!(needs_renewal(&pem, &names, t), None);
    assert_eq!(
        needs_renewal(&pem, &names, t + Duration::from_secs(330 * DAY)),
        None
    );
    assert_eq!(
        needs_renewal(&pem, &names, t + Duration::from_secs(340 * DAY)),
        Some("expiring")
    );
    let more = generated_names("mail.example.test", &["new.test".to_string()]);
    assert_eq!(needs_renewal(&pem, &more, t), Some("names changed"));
    assert_eq!(needs_renewal(b"junk", &names, t), Some("unreadable"));
}

#[test]
fn a_certificate_ending_within_30_days_is_generated_again_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let mut params =
        rcgen::CertificateParams::new(generated_names("mail.example.test", &[])).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    let in_ten_days = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        + Duration::from_secs(10 * DAY);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + in_ten_days;
    let key = rcgen::KeyPair::generate().unwrap();
    let old = params.self_signed(&key).unwrap();
    std::fs::write(tls_dir.join("cert.pem"), old.pem()).unwrap();
    std::fs::write(tls_dir.join("key.pem"), key.serialize_pem()).unwrap();

    let tls = ServerTls::load(&TlsSection::default(), dir.path(), "mail.example.test").unwrap();
    let pem = std::fs::read(tls.certificate_path()).unwrap();
    assert_ne!(pem, old.pem().into_bytes());
    let f = fields(&pem);
    assert_eq!(f.cn, "mail.example.test");
    assert!(f.not_after - now() > 360 * DAY as i64);
}

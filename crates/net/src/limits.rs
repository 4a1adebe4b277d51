//! Connection limits: connections open at once, in total and per client address. A
//! connection holds a [`ConnectionPermit`] for its lifetime; dropping it frees the slot.
//! Admission can come in two steps ([`ConnectionLimits::reserve`], then
//! [`ReservedSlot::admit`]) when the client's address is known only after the first
//! bytes (behind a PROXY protocol balancer).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitRefusal {
    /// The server has `max_connections` open.
    Total,
    /// This address has `max_connections_per_ip` open.
    PerIp,
}

/// Shared connection counters.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    total: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
}

/// One open connection's slot.
#[derive(Debug)]
pub struct ConnectionPermit {
    _total: OwnedSemaphorePermit,
    ip: IpAddr,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if let Ok(mut map) = self.per_ip.lock()
            && let Some(n) = map.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A slot counted against the total limit, not yet against any address.
#[derive(Debug)]
pub struct ReservedSlot {
    total: OwnedSemaphorePermit,
    limits: ConnectionLimits,
}

impl ReservedSlot {
    /// Counts the slot against `ip`, or says that `ip` has its limit open (the slot is
    /// then freed).
    pub fn admit(self, ip: IpAddr) -> Result<ConnectionPermit, LimitRefusal> {
        let mut map = self.limits.per_ip.lock().map_err(|_| LimitRefusal::Total)?;
        let n = map.entry(ip).or_insert(0);
        if *n >= self.limits.max_per_ip {
            return Err(LimitRefusal::PerIp);
        }
        *n += 1;
        Ok(ConnectionPermit {
            _total: self.total,
            ip,
            per_ip: self.limits.per_ip.clone(),
        })
    }
}

impl ConnectionLimits {
    /// Limits of `max_total` connections and `max_per_ip` per address.
    pub fn new(max_total: usize, max_per_ip: usize) -> ConnectionLimits {
        ConnectionLimits {
            total: Arc::new(Semaphore::new(max_total.max(1))),
            per_ip: Arc::new(Mutex::new(HashMap::new())),
            max_per_ip: max_per_ip.max(1),
        }
    }

    /// Takes a slot for a connection from `ip`, or says which limit refuses it.
    pub fn admit(&self, ip: IpAddr) -> Result<ConnectionPermit, LimitRefusal> {
        self.reserve()?.admit(ip)
    }

    /// Takes a slot against the total limit only; [`ReservedSlot::admit`] completes it
    /// once the client's address is known.
    pub fn reserve(&self) -> Result<ReservedSlot, LimitRefusal> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| LimitRefusal::Total)?;
        Ok(ReservedSlot {
            total,
            limits: self.clone(),
        })
    }

    /// Connections open now from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.per_ip
            .lock()
            .map(|m| m.get(&ip).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_total_limits() {
        let l = ConnectionLimits::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = l.admit(a).unwrap();
        let _p2 = l.admit(a).unwrap();
        assert_eq!(l.admit(a).unwrap_err(), LimitRefusal::PerIp);
        let _p3 = l.admit(b).unwrap();
        assert_eq!(l.admit(b).unwrap_err(), LimitRefusal::Total);
        drop(p1);
        assert_eq!(l.open_from(a), 1);
        l.admit(a).unwrap();
    }

    #[test]
    fn a_reserved_slot_counts_in_the_total_and_then_against_its_address() {
        let l = ConnectionLimits::new(2, 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let r1 = l.reserve().unwrap();
        let r2 = l.reserve().unwrap();
        assert_eq!(l.reserve().unwrap_err(), LimitRefusal::Total);
        let p1 = r1.admit(a).unwrap();
        assert_eq!(l.open_from(a), 1);
        // The second slot is refused for the same address, and freed.
        assert_eq!(r2.admit(a).unwrap_err(), LimitRefusal::PerIp);
        let _r3 = l.reserve().unwrap();
        drop(p1);
        assert_eq!(l.open_from(a), 0);
    }
}

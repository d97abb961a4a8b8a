//! What the kernel says about UDP in this network namespace (`/proc/net`): the bytes queued
//! on one socket, and the datagrams no socket would take. Drain tests read them to show the
//! socket held messages when hekad stopped, and where the ones sent after that went.

use std::net::SocketAddr;

/// The kernel's count of UDP datagrams that arrived for a port no socket would take (`Udp:
/// NoPorts` in `/proc/net/snmp`): what a stopping hekad's self-connected socket refuses
/// lands here. Other processes add to it too, so a test can use a difference only as an
/// upper bound of what one socket refused.
pub fn udp_no_ports() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").expect("/proc/net/snmp");
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (names, values) = (
        udp.next().expect("Udp header"),
        udp.next().expect("Udp values"),
    );
    let at = names
        .split_whitespace()
        .position(|n| n == "NoPorts")
        .expect("NoPorts");
    values.split_whitespace().nth(at).unwrap().parse().unwrap()
}

/// Bytes queued on the IPv4 UDP socket bound to `addr` and not yet read (`rx_queue` in
/// `/proc/net/udp`: the kernel's per-datagram memory, not payload bytes); `None` when no
/// such socket exists.
pub fn udp_rx_queue(addr: SocketAddr) -> Option<u64> {
    let SocketAddr::V4(v4) = addr else {
        return None;
    };
    // `0100007F:E338`: the address as a little-endian u32, then the port, both in hex.
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(v4.ip().octets()),
        v4.port()
    );
    let table = std::fs::read_to_string("/proc/net/udp").expect("/proc/net/udp");
    table.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        if cols.get(1) != Some(&local.as_str()) {
            return None;
        }
        let (_, rx) = cols.get(4)?.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_queue_and_refused_datagrams_are_read_from_proc() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = rx.local_addr().unwrap();
        assert_eq!(udp_rx_queue(addr), Some(0));
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"queued", addr).unwrap();
        // Loopback delivers within `send_to`: the datagram is queued when it returns.
        assert!(udp_rx_queue(addr).unwrap() > 0);
        drop(rx);
        assert_eq!(udp_rx_queue(addr), None);
        // Sent to a port nobody has: refused, and counted (others only add to the count).
        let before = udp_no_ports();
        tx.send_to(b"refused", addr).unwrap();
        assert!(udp_no_ports() > before);
    }
}

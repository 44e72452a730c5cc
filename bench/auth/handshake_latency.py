import socket, base64, os, sys, time, re, urllib.request, statistics
port, admin, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def handshake():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    t = time.perf_counter()
    s.send(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nCookie: user=42\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf: buf += s.recv(4096)
    dt = time.perf_counter() - t
    assert buf.startswith(b"HTTP/1.1 101"), buf[:40]
    s.close(); return dt
for _ in range(20): handshake()  # warm PHP workers/opcache
m0 = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics").read().decode()
lat = [handshake() for _ in range(n)]
m1 = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics").read().decode()
def val(m, k): return float(re.search(rf"^{k} (\S+)$", m, re.M).group(1))
s = val(m1, "realtime_auth_duration_seconds_sum") - val(m0, "realtime_auth_duration_seconds_sum")
c = val(m1, "realtime_auth_duration_seconds_count") - val(m0, "realtime_auth_duration_seconds_count")
lat.sort()
print(f"auth endpoint mean {s/c*1000:.3f} ms over {int(c)} handshakes; handshake p50 {lat[len(lat)//2]*1000:.3f} ms p95 {lat[int(len(lat)*.95)]*1000:.3f} ms")

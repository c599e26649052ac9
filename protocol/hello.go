package protocol

// HelloInfo is what HELLO reports about the server and the connection.
type HelloInfo struct {
	Server  string // "segd"
	Version string // the redis_version segd reports, e.g. "7.0.0"
	ID      int64  // the connection's CLIENT ID
	Mode    string // "standalone"
	Role    string // "master"
}

// WriteHello appends the HELLO reply in Redis 7's shape: a map (a flat array
// under RESP2) of server, version, proto, id, mode, role and modules (an
// empty array). Set e.Proto to the protocol HELLO chose before calling.
func WriteHello(e *Enc, h HelloInfo) {
	proto := int64(2)
	if e.Proto == 3 {
		proto = 3
	}
	e.Map(7)
	e.BulkString("server")
	e.BulkString(h.Server)
	e.BulkString("version")
	e.BulkString(h.Version)
	e.BulkString("proto")
	e.Int(proto)
	e.BulkString("id")
	e.Int(h.ID)
	e.BulkString("mode")
	e.BulkString(h.Mode)
	e.BulkString("role")
	e.BulkString(h.Role)
	e.BulkString("modules")
	e.Array(0)
}

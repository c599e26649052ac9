package server

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/protocol"
)

// Connection and server commands.

func init() {
	register("ping", cmdPing)
	register("echo", cmdEcho)
	register("quit", cmdQuit)
	register("reset", cmdReset)
	register("hello", cmdHello)
	register("auth", cmdAuth)
	register("select", cmdSelect)
	register("client|id", cmdClientID)
	register("client|setname", cmdClientSetName)
	register("client|getname", cmdClientGetName)
	register("client|setinfo", cmdClientSetInfo)
	register("client|list", cmdClientList)
	register("client|kill", cmdClientKill)
	register("client|info", cmdClientInfo)
	register("command", cmdCommand)
	register("command|count", cmdCommandCount)
	register("command|info", cmdCommandInfo)
	register("command|docs", cmdCommandDocs)
	register("command|list", cmdCommandList)
	register("config|get", cmdConfigGet)
	register("time", cmdTime)
	register("save", cmdSave)
	register("bgsave", cmdBgsave)
	register("lastsave", cmdLastsave)
	register("flushall", cmdFlushall)
	register("shutdown", cmdShutdown)
	register("info", cmdInfo)
}

// PING [message]
func cmdPing(s *Server, c *client, args [][]byte) {
	if c.proto == 2 && c.subscribed() {
		c.enc.Array(2)
		c.enc.BulkString("pong")
		if len(args) > 1 {
			c.enc.Bulk(args[1])
		} else {
			c.enc.BulkString("")
		}
		return
	}
	if len(args) > 1 {
		c.enc.Bulk(args[1])
		return
	}
	c.enc.SimpleString("PONG")
}

// ECHO message
func cmdEcho(s *Server, c *client, args [][]byte) { c.enc.Bulk(args[1]) }

// QUIT
func cmdQuit(s *Server, c *client, args [][]byte) {
	c.enc.SimpleString("OK")
	c.killed.Store(true)
}

// RESET
func cmdReset(s *Server, c *client, args [][]byte) {
	s.pubsub.unsubscribeAll(c)
	c.proto = 2
	c.enc.Proto = 2
	c.name.Store("")
	c.authed = s.cfg.Password == ""
	c.enc.SimpleString("RESET")
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
func cmdHello(s *Server, c *client, args [][]byte) {
	proto := c.proto
	if len(args) > 1 {
		v, err := protocol.ParseInt(args[1])
		if err != nil {
			c.enc.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 && v != 3 {
			c.enc.Error("NOPROTO unsupported protocol version: segd speaks RESP2 and RESP3")
			return
		}
		proto = int(v)
	}
	authed := c.authed
	var name []byte
	for i := 2; i < len(args); i++ {
		switch {
		case protocol.EqualFold(args[i], "AUTH") && i+2 < len(args):
			if !s.passwordOK(args[i+1], args[i+2]) {
				c.enc.Error("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			authed = true
			i += 2
		case protocol.EqualFold(args[i], "SETNAME") && i+1 < len(args):
			name = args[i+1]
			i++
		default:
			c.enc.Error("ERR syntax error in HELLO option '" + clip(string(args[i]), 32) + "'")
			return
		}
	}
	if !authed {
		c.enc.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.authed = true
	c.proto = proto
	c.enc.Proto = proto
	if name != nil {
		c.name.Store(string(name))
	}
	protocol.WriteHello(&c.enc, protocol.HelloInfo{Server: "segd", Version: RedisVersion, ID: c.id, Mode: "standalone", Role: "master"})
}

// passwordOK checks a user name ("default" only) and password. Without
// --requirepass any password is accepted, as Redis's default user does, so a
// client configured with a password still connects (HELLO 3 AUTH …).
func (s *Server) passwordOK(user, pass []byte) bool {
	if user != nil && string(user) != "default" {
		return false
	}
	return s.cfg.Password == "" || s.checkPassword(pass)
}

// AUTH [username] password
func cmdAuth(s *Server, c *client, args [][]byte) {
	if s.cfg.Password == "" {
		c.enc.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	var user []byte
	pass := args[1]
	if len(args) == 3 {
		user, pass = args[1], args[2]
	}
	if !s.passwordOK(user, pass) {
		s.metrics.authFailures.Inc()
		c.enc.Error("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	c.authed = true
	c.enc.SimpleString("OK")
}

// SELECT index
func cmdSelect(s *Server, c *client, args [][]byte) {
	if string(args[1]) != "0" {
		c.enc.Error("ERR DB index is out of range: segd has one database, 0")
		return
	}
	c.enc.SimpleString("OK")
}

// CLIENT ID
func cmdClientID(s *Server, c *client, args [][]byte) { c.enc.Int(c.id) }

// CLIENT SETNAME name
func cmdClientSetName(s *Server, c *client, args [][]byte) {
	if strings.ContainsAny(string(args[2]), " \n\r") {
		c.enc.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		return
	}
	c.name.Store(string(args[2]))
	c.enc.SimpleString("OK")
}

// CLIENT GETNAME
func cmdClientGetName(s *Server, c *client, args [][]byte) {
	if n := c.name.Load().(string); n != "" {
		c.enc.BulkString(n)
		return
	}
	c.enc.Null()
}

// CLIENT SETINFO LIB-NAME|LIB-VER value
func cmdClientSetInfo(s *Server, c *client, args [][]byte) {
	switch {
	case protocol.EqualFold(args[2], "LIB-NAME"):
		c.libName = clip(string(args[3]), 128)
	case protocol.EqualFold(args[2], "LIB-VER"):
		c.libVer = clip(string(args[3]), 128)
	default:
		c.enc.Error("ERR Unrecognized option '" + clip(string(args[2]), 32) + "': use LIB-NAME or LIB-VER")
		return
	}
	c.enc.SimpleString("OK")
}

func (s *Server) clientLine(c *client) string {
	now := time.Now()
	sub, psub := s.pubsub.counts(c)
	return "id=" + strconv.FormatInt(c.id, 10) +
		" addr=" + c.addr + " laddr=" + c.laddr +
		" name=" + c.name.Load().(string) +
		" age=" + strconv.Itoa(int(now.Sub(c.created).Seconds())) +
		" idle=" + strconv.Itoa(int(time.Duration(nanotime()-c.last.Load()).Seconds())) +
		" db=0 sub=" + strconv.Itoa(sub) + " psub=" + strconv.Itoa(psub) +
		" cmd=" + lastCmdName(c) +
		" resp=" + strconv.Itoa(c.proto) +
		" lib-name=" + c.libName + " lib-ver=" + c.libVer + "\n"
}

func lastCmdName(c *client) string {
	if cmd := c.lastCmd.Load(); cmd != nil {
		return cmd.Name
	}
	return ""
}

// CLIENT LIST
func cmdClientList(s *Server, c *client, args [][]byte) {
	var b strings.Builder
	for _, cl := range s.clients.list() {
		b.WriteString(s.clientLine(cl))
	}
	c.enc.Verbatim("txt", b.String())
}

// CLIENT INFO
func cmdClientInfo(s *Server, c *client, args [][]byte) { c.enc.Verbatim("txt", s.clientLine(c)) }

// CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port]
func cmdClientKill(s *Server, c *client, args [][]byte) {
	match := func(cl *client) bool { return false }
	if len(args) == 3 {
		addr := string(args[2])
		match = func(cl *client) bool { return cl.addr == addr }
	} else {
		var id int64 = -1
		var addr string
		for i := 2; i+1 < len(args); i += 2 {
			switch {
			case protocol.EqualFold(args[i], "ID"):
				n, err := protocol.ParseInt(args[i+1])
				if err != nil {
					c.enc.Error("ERR client-id should be greater than 0")
					return
				}
				id = n
			case protocol.EqualFold(args[i], "ADDR"):
				addr = string(args[i+1])
			default:
				c.enc.Error("ERR syntax error: use CLIENT KILL ip:port, or CLIENT KILL ID id / ADDR ip:port")
				return
			}
		}
		if len(args)%2 != 0 {
			c.enc.Error("ERR syntax error: use CLIENT KILL ip:port, or CLIENT KILL ID id / ADDR ip:port")
			return
		}
		match = func(cl *client) bool {
			return (id < 0 || cl.id == id) && (addr == "" || cl.addr == addr)
		}
	}
	killed := 0
	for _, cl := range s.clients.list() {
		if match(cl) {
			killed++
			s.kill(cl, cl == c)
		}
	}
	if len(args) == 3 {
		if killed == 0 {
			c.enc.Error("ERR No such client")
			return
		}
		c.enc.SimpleString("OK")
		return
	}
	c.enc.Int(int64(killed))
}

// kill closes another client's connection (or marks our own to close after the reply).
func (s *Server) kill(cl *client, self bool) {
	cl.killed.Store(true)
	if self {
		return
	}
	if cl.sub != nil {
		cl.sub.close()
		return
	}
	if nc := cl.conn.NetConn(); nc != nil {
		nc.Close()
	}
}

// COMMAND
func cmdCommand(s *Server, c *client, args [][]byte) {
	all := protocol.All()
	c.enc.Array(len(all))
	for _, cmd := range all {
		protocol.WriteCommandInfo(&c.enc, cmd)
	}
}

// COMMAND COUNT
func cmdCommandCount(s *Server, c *client, args [][]byte) { c.enc.Int(int64(len(protocol.All()))) }

// COMMAND LIST
func cmdCommandList(s *Server, c *client, args [][]byte) {
	all := protocol.All()
	c.enc.Array(len(all))
	for _, cmd := range all {
		c.enc.BulkString(cmd.Name)
	}
}

// COMMAND INFO [command-name ...]
func cmdCommandInfo(s *Server, c *client, args [][]byte) {
	if len(args) == 2 {
		cmdCommand(s, c, args)
		return
	}
	c.enc.Array(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := protocol.LookupFull(name); cmd != nil {
			protocol.WriteCommandInfo(&c.enc, cmd)
		} else {
			c.enc.NullArray()
		}
	}
}

// COMMAND DOCS [command-name ...]
func cmdCommandDocs(s *Server, c *client, args [][]byte) {
	cmds := protocol.All()
	if len(args) > 2 {
		cmds = cmds[:0:0]
		for _, name := range args[2:] {
			if cmd := protocol.LookupFull(name); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	protocol.WriteCommandDocs(&c.enc, cmds)
}

// CONFIG GET parameter [parameter ...]
func cmdConfigGet(s *Server, c *client, args [][]byte) {
	var out [][2]string
	for _, kv := range s.cfg.configEntries(s.Addr()) {
		for _, pat := range args[2:] {
			if ok, _ := path.Match(strings.ToLower(string(pat)), kv[0]); ok {
				out = append(out, kv)
				break
			}
		}
	}
	c.enc.Map(len(out))
	for _, kv := range out {
		c.enc.BulkString(kv[0])
		c.enc.BulkString(kv[1])
	}
}

// TIME
func cmdTime(s *Server, c *client, args [][]byte) {
	now := time.Now()
	c.enc.Array(2)
	c.enc.BulkString(strconv.FormatInt(now.Unix(), 10))
	c.enc.BulkString(strconv.Itoa(now.Nanosecond() / 1000))
}

// SAVE
func cmdSave(s *Server, c *client, args [][]byte) {
	if s.cfg.InMemory {
		c.enc.Error("ERR segd runs --in-memory: there is no disk to save to")
		return
	}
	if err := s.save(false); err != nil {
		c.enc.Error("ERR save failed: " + err.Error())
		return
	}
	c.enc.SimpleString("OK")
}

// BGSAVE [SCHEDULE]
func cmdBgsave(s *Server, c *client, args [][]byte) {
	if s.cfg.InMemory {
		c.enc.Error("ERR segd runs --in-memory: there is no disk to save to")
		return
	}
	if err := s.save(true); err != nil {
		c.enc.Error("ERR " + err.Error())
		return
	}
	c.enc.SimpleString("Background saving started")
}

// LASTSAVE
func cmdLastsave(s *Server, c *client, args [][]byte) { c.enc.Int(s.lastSave().Unix()) }

// FLUSHALL [ASYNC|SYNC]
func cmdFlushall(s *Server, c *client, args [][]byte) {
	if len(args) == 2 && !protocol.EqualFold(args[1], "ASYNC") && !protocol.EqualFold(args[1], "SYNC") {
		c.enc.Error("ERR syntax error: FLUSHALL takes ASYNC or SYNC")
		return
	}
	err := s.commits.exclusive(func() error {
		s.saving.Lock()
		defer s.saving.Unlock()
		if _, err := s.engine.Apply(&index.Mutation{Op: index.OpFlush}); err != nil {
			return err
		}
		s.restores.Add(1) // an image frozen before the flush must not land after it
		s.dirty.Store(0)
		return s.store.Reset()
	})
	if err != nil {
		c.enc.Error("ERR flushall failed: " + err.Error())
		return
	}
	c.enc.SimpleString("OK")
}

// SHUTDOWN [NOSAVE|SAVE]
func cmdShutdown(s *Server, c *client, args [][]byte) {
	save := true
	if len(args) == 2 {
		switch {
		case protocol.EqualFold(args[1], "NOSAVE"):
			save = false
		case protocol.EqualFold(args[1], "SAVE"):
		default:
			c.enc.Error("ERR syntax error: SHUTDOWN takes NOSAVE or SAVE")
			return
		}
	}
	// Like Redis, a successful SHUTDOWN closes the connection without a reply.
	c.killed.Store(true)
	go s.shutdown(save)
}

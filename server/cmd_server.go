package server

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/protocol"
)

// Connection and server commands.

// PING [message]
func cmdPing(s *Server, c *client, args [][]byte) error {
	if c.proto == 2 && c.subscribed() {
		c.enc.Array(2)
		c.enc.BulkString("pong")
		if len(args) > 1 {
			c.enc.Bulk(args[1])
		} else {
			c.enc.BulkString("")
		}
		return nil
	}
	if len(args) > 1 {
		c.enc.Bulk(args[1])
		return nil
	}
	c.enc.SimpleString("PONG")
	return nil
}

// ECHO message
func cmdEcho(s *Server, c *client, args [][]byte) error {
	c.enc.Bulk(args[1])
	return nil
}

// QUIT
func cmdQuit(s *Server, c *client, args [][]byte) error {
	c.enc.SimpleString("OK")
	c.killed.Store(true)
	return nil
}

// RESET
func cmdReset(s *Server, c *client, args [][]byte) error {
	s.pubsub.unsubscribeAll(c)
	c.proto = 2
	c.enc.Proto = 2
	c.name.Store("")
	c.authed = s.cfg.Password == ""
	c.enc.SimpleString("RESET")
	return nil
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
func cmdHello(s *Server, c *client, args [][]byte) error {
	proto := c.proto
	if len(args) > 1 {
		v, err := protocol.ParseInt(args[1])
		if err != nil {
			return errs.Err("Protocol version is not an integer or out of range")
		}
		if v != 2 && v != 3 {
			return errs.New(errs.CodeNoProto, "unsupported protocol version: segd speaks RESP2 and RESP3")
		}
		proto = int(v)
	}
	authed := c.authed
	var name []byte
	for i := 2; i < len(args); i++ {
		switch {
		case protocol.EqualFold(args[i], "AUTH") && i+2 < len(args):
			if !s.passwordOK(args[i+1], args[i+2]) {
				return errs.New(errs.CodeWrongPass, "invalid username-password pair or user is disabled.")
			}
			authed = true
			i += 2
		case protocol.EqualFold(args[i], "SETNAME") && i+1 < len(args):
			name = args[i+1]
			i++
		default:
			return errs.Err("syntax error in HELLO option '" + clip(string(args[i]), 32) + "'")
		}
	}
	if !authed {
		return errs.New(errs.CodeNoAuth, "HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
	}
	c.authed = true
	c.proto = proto
	c.enc.Proto = proto
	if name != nil {
		c.name.Store(string(name))
	}
	protocol.WriteHello(&c.enc, protocol.HelloInfo{Server: "segd", Version: RedisVersion, ID: c.id, Mode: "standalone", Role: "master"})
	return nil
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
func cmdAuth(s *Server, c *client, args [][]byte) error {
	if s.cfg.Password == "" {
		return errs.Err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	}
	var user []byte
	pass := args[1]
	if len(args) == 3 {
		user, pass = args[1], args[2]
	}
	if !s.passwordOK(user, pass) {
		s.metrics.authFailures.Inc()
		return errs.New(errs.CodeWrongPass, "invalid username-password pair or user is disabled.")
	}
	c.authed = true
	c.enc.SimpleString("OK")
	return nil
}

// SELECT index
func cmdSelect(s *Server, c *client, args [][]byte) error {
	if string(args[1]) != "0" {
		return errs.Err("DB index is out of range: segd has one database, 0")
	}
	c.enc.SimpleString("OK")
	return nil
}

// CLIENT ID
func cmdClientID(s *Server, c *client, args [][]byte) error {
	c.enc.Int(c.id)
	return nil
}

// CLIENT SETNAME name
func cmdClientSetName(s *Server, c *client, args [][]byte) error {
	if strings.ContainsAny(string(args[2]), " \n\r") {
		return errs.Err("Client names cannot contain spaces, newlines or special characters.")
	}
	c.name.Store(string(args[2]))
	c.enc.SimpleString("OK")
	return nil
}

// CLIENT GETNAME
func cmdClientGetName(s *Server, c *client, args [][]byte) error {
	if n := c.name.Load().(string); n != "" {
		c.enc.BulkString(n)
		return nil
	}
	c.enc.Null()
	return nil
}

// CLIENT SETINFO LIB-NAME|LIB-VER value
func cmdClientSetInfo(s *Server, c *client, args [][]byte) error {
	switch {
	case protocol.EqualFold(args[2], "LIB-NAME"):
		c.libName = clip(string(args[3]), 128)
	case protocol.EqualFold(args[2], "LIB-VER"):
		c.libVer = clip(string(args[3]), 128)
	default:
		return errs.Err("Unrecognized option '" + clip(string(args[2]), 32) + "': use LIB-NAME or LIB-VER")
	}
	c.enc.SimpleString("OK")
	return nil
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
func cmdClientList(s *Server, c *client, args [][]byte) error {
	var b strings.Builder
	for _, cl := range s.clients.list() {
		b.WriteString(s.clientLine(cl))
	}
	c.enc.Verbatim("txt", b.String())
	return nil
}

// CLIENT INFO
func cmdClientInfo(s *Server, c *client, args [][]byte) error {
	c.enc.Verbatim("txt", s.clientLine(c))
	return nil
}

// CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port]
func cmdClientKill(s *Server, c *client, args [][]byte) error {
	var match func(cl *client) bool
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
					return errs.Err("client-id should be greater than 0")
				}
				id = n
			case protocol.EqualFold(args[i], "ADDR"):
				addr = string(args[i+1])
			default:
				return errs.Err("syntax error: use CLIENT KILL ip:port, or CLIENT KILL ID id / ADDR ip:port")
			}
		}
		if len(args)%2 != 0 {
			return errs.Err("syntax error: use CLIENT KILL ip:port, or CLIENT KILL ID id / ADDR ip:port")
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
			return errs.Err("No such client")
		}
		c.enc.SimpleString("OK")
		return nil
	}
	c.enc.Int(int64(killed))
	return nil
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
func cmdCommand(s *Server, c *client, args [][]byte) error {
	all := protocol.All()
	c.enc.Array(len(all))
	for _, cmd := range all {
		protocol.WriteCommandInfo(&c.enc, cmd)
	}
	return nil
}

// COMMAND COUNT
func cmdCommandCount(s *Server, c *client, args [][]byte) error {
	c.enc.Int(int64(len(protocol.All())))
	return nil
}

// COMMAND LIST
func cmdCommandList(s *Server, c *client, args [][]byte) error {
	all := protocol.All()
	c.enc.Array(len(all))
	for _, cmd := range all {
		c.enc.BulkString(cmd.Name)
	}
	return nil
}

// COMMAND INFO [command-name ...]
func cmdCommandInfo(s *Server, c *client, args [][]byte) error {
	if len(args) == 2 {
		return cmdCommand(s, c, args)
	}
	c.enc.Array(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := protocol.LookupFull(name); cmd != nil {
			protocol.WriteCommandInfo(&c.enc, cmd)
		} else {
			c.enc.NullArray()
		}
	}
	return nil
}

// COMMAND DOCS [command-name ...]
func cmdCommandDocs(s *Server, c *client, args [][]byte) error {
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
	return nil
}

// CONFIG GET parameter [parameter ...]
func cmdConfigGet(s *Server, c *client, args [][]byte) error {
	var out [][2]string
	entries := append(s.cfg.configEntries(s.Addr()), [2]string{"schema", s.engine.SchemaMode()})
	for _, kv := range entries {
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
	return nil
}

// TIME
func cmdTime(s *Server, c *client, args [][]byte) error {
	now := time.Now()
	c.enc.Array(2)
	c.enc.BulkString(strconv.FormatInt(now.Unix(), 10))
	c.enc.BulkString(strconv.Itoa(now.Nanosecond() / 1000))
	return nil
}

// SAVE
func cmdSave(s *Server, c *client, args [][]byte) error {
	if s.cfg.InMemory {
		return errs.Err("segd runs --in-memory: there is no disk to save to")
	}
	if err := s.save(false); err != nil {
		return errs.Err("save failed: " + err.Error())
	}
	c.enc.SimpleString("OK")
	return nil
}

// BGSAVE [SCHEDULE]
func cmdBgsave(s *Server, c *client, args [][]byte) error {
	if s.cfg.InMemory {
		return errs.Err("segd runs --in-memory: there is no disk to save to")
	}
	if err := s.save(true); err != nil {
		return errs.Err(err.Error())
	}
	c.enc.SimpleString("Background saving started")
	return nil
}

// LASTSAVE
func cmdLastsave(s *Server, c *client, args [][]byte) error {
	c.enc.Int(s.lastSave().Unix())
	return nil
}

// FLUSHALL [ASYNC|SYNC]
func cmdFlushall(s *Server, c *client, args [][]byte) error {
	if len(args) == 2 && !protocol.EqualFold(args[1], "ASYNC") && !protocol.EqualFold(args[1], "SYNC") {
		return errs.Err("syntax error: FLUSHALL takes ASYNC or SYNC")
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
		return errs.Err("flushall failed: " + err.Error())
	}
	c.enc.SimpleString("OK")
	return nil
}

// SHUTDOWN [NOSAVE|SAVE]
func cmdShutdown(s *Server, c *client, args [][]byte) error {
	save := true
	if len(args) == 2 {
		switch {
		case protocol.EqualFold(args[1], "NOSAVE"):
			save = false
		case protocol.EqualFold(args[1], "SAVE"):
		default:
			return errs.Err("syntax error: SHUTDOWN takes NOSAVE or SAVE")
		}
	}
	// Like Redis, a successful SHUTDOWN closes the connection without a reply.
	c.killed.Store(true)
	go func() {
		if err := s.shutdown(save); err != nil {
			s.log.Error("shutdown failed", "err", err)
		}
	}()
	return nil
}

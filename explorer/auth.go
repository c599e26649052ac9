package explorer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Authentication. Without a password every request is allowed, but only
// when it is addressed to an IP address or localhost: a page on another
// site cannot reach a loopback explorer through DNS rebinding. With a
// password (--requirepass) the API answers 401 until the request carries
// either the session cookie that POST /api/login sets, or the password in
// HTTP Basic auth (any user name) for scripts. Passwords are compared in
// constant time.

const (
	sessionCookie = "segd_session"
	sessionTTL    = 7 * 24 * time.Hour
)

type authenticator struct {
	password string
	sum      [32]byte // sha256 of the password: compared in constant time whatever the length
	key      []byte   // signs session tokens; random per process, so a restart logs everyone out
}

func newAuthenticator(password string) *authenticator {
	a := &authenticator{password: password, sum: sha256.Sum256([]byte(password))}
	a.key = make([]byte, 32)
	if _, err := rand.Read(a.key); err != nil {
		panic("explorer: no randomness for session keys: " + err.Error())
	}
	// Tie sessions to the password too.
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(password))
	a.key = m.Sum(nil)
	return a
}

func (a *authenticator) required() bool { return a.password != "" }

// passwordOK compares a given password with the configured one in constant time.
func (a *authenticator) passwordOK(given string) bool {
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], a.sum[:]) == 1
}

// allowed reports whether r is authenticated (always, without a password).
func (a *authenticator) allowed(r *http.Request) bool {
	if !a.required() {
		return true
	}
	if c, err := r.Cookie(sessionCookie); err == nil && a.tokenOK(c.Value, time.Now()) {
		return true
	}
	if _, pass, ok := r.BasicAuth(); ok && a.passwordOK(pass) {
		return true
	}
	return false
}

// token is "expiry.signature": stateless, checked with the process key.
func (a *authenticator) token(now time.Time) string {
	exp := strconv.FormatInt(now.Add(sessionTTL).Unix(), 10)
	return exp + "." + a.sign(exp)
}

func (a *authenticator) sign(exp string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte("segd-explorer-session\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *authenticator) tokenOK(tok string, now time.Time) bool {
	exp, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() >= n {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(a.sign(exp)))
}

// checkHost refuses, when no password is set, a request whose Host is a
// name other than localhost: the defence against DNS rebinding. It returns
// the sentence of the refusal, or "".
func (a *authenticator) checkHost(r *http.Request) string {
	if a.required() {
		return ""
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return ""
	}
	return "without a password the explorer answers only requests addressed to an IP address or localhost, not '" + clip(host, 64) +
		"' (a defence against DNS rebinding): open it by IP address, or set --requirepass to serve it under a host name"
}

// checkOrigin refuses a state-changing request sent by a page of another
// origin (the session cookie is also SameSite=Strict). It returns the
// sentence of the refusal, or "".
func checkOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "" // not sent by a browser page, or a same-origin GET-like request
	}
	u, err := url.Parse(origin)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return "cross-origin request refused: the explorer's API takes writes only from its own page (Origin " + clip(origin, 64) + ", Host " + clip(r.Host, 64) + ")"
	}
	return ""
}

// POST /api/login {"password": "…"}: sets the session cookie.
func (x *Explorer) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var body struct {
		Password string `json:"password"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if !x.auth.required() {
		writeJSON(w, http.StatusOK, map[string]any{"auth": false})
		return
	}
	if !x.auth.passwordOK(body.Password) {
		x.log.Warn("explorer: login with a wrong password", "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "WRONGPASS", "invalid password: give the server's --requirepass")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: x.auth.token(time.Now()), Path: "/", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]any{"auth": true})
}

// POST /api/logout: clears the session cookie.
func (x *Explorer) logout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]any{"auth": x.auth.required()})
}

// readJSON decodes a small JSON request body into v, or answers the error.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "ERR", "send the request body as JSON with Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "ERR", "invalid JSON body: "+clip(err.Error(), 200))
		return false
	}
	return true
}

// clip shortens s for an error message and replaces control characters.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

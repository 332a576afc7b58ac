package sqlsim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
	"github.com/milink/milink/sqlsim/tds"
)

type endpoint struct {
	id         int
	name       string
	typ        string
	state      string
	port       int
	certID     int
	auth       string
	encryption string
	role       string
	listener   net.Listener
}

type certificate struct {
	id         int
	name       string
	subject    string
	start      time.Time
	expiry     time.Time
	byPassword bool     // private key encrypted by a password rather than the master key
	thumbprint [20]byte // SHA-1 (certThumbprint)
	serial     [16]byte
}

// Instance is a running simulated instance.
type Instance struct {
	opts   Options
	log    *slog.Logger
	net    *Network
	srv    *tds.Server
	ln     net.Listener
	caPEM  []byte
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	pers    catalog.Personality
	started time.Time

	mu               sync.Mutex
	masterKey        bool
	masterKeyCreated time.Time
	smkGUID, dmkGUID [16]byte
	partitionID      [16]byte
	otherPartID      [16]byte
	dbs              []*dbState
	logins           []*loginState
	serverRoles      map[string][]string // fixed server role → member logins
	serverGrant      map[string]bool     // "PERMISSION|login"
	serverDeny       map[string]bool
	traceFlags       map[int]bool // global trace flags
	configs          []*configOption
	backups          []*backupRow
	nextBackup       int
	nextLSN          int64 // the last LSN handed to a backup (sys.database_recovery_status)
	locks            map[string]*lockState
	sessions         map[*session]bool // client sessions (sys.dm_exec_sessions)
	nextSPID         int
	agentOn          bool
	endpoints        []*endpoint
	certs            []*certificate
	nextID           int
	agent            *agent
	fixed            []net.Listener // MI's own 5022 and HADR listeners
	loginHook        func(ctx context.Context, user string) error
	tokenCheck       func(token string) (string, bool)
}

// Start starts a simulated instance: its TDS listener, its endpoints' listeners and its Agent.
func Start(opts Options) (*Instance, error) {
	if opts.Role == "" {
		opts.Role = RoleSQLServer
	}
	if opts.Network == nil {
		opts.Network = NewNetwork()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.TncTimeout <= 0 {
		opts.TncTimeout = 21 * time.Second
	}
	if p := opts.Personality; p.ProductVersion != "" {
		opts.ProductVersion, opts.Edition = p.ProductVersion, p.Edition
		opts.Platform = string(p.Platform)
		if p.Distribution != "" {
			opts.Distribution = p.Distribution
		}
		if p.MI {
			opts.Role = RoleMI
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Instance{opts: opts, log: opts.Logger.With("sim", opts.ServerName), net: opts.Network,
		ctx: ctx, cancel: cancel, agentOn: opts.AgentRunning, nextID: 65536,
		pers: personalityFromOptions(opts), started: time.Now().UTC(), smkGUID: newGUID(), dmkGUID: newGUID(),
		partitionID: newGUID(), otherPartID: newGUID(), serverRoles: map[string][]string{}, serverGrant: map[string]bool{},
		serverDeny: map[string]bool{}, traceFlags: map[int]bool{}, configs: defaultConfigurations(), locks: map[string]*lockState{}, sessions: map[*session]bool{}, nextSPID: 51}
	if opts.IP != "" {
		in.net.AddHost(opts.IP, opts.IP)
		for _, h := range opts.HostNames {
			in.net.AddHost(h, opts.IP)
		}
	}
	in.agent = newAgent(in)
	if err := in.bootstrap(); err != nil {
		in.Close()
		return nil, err
	}
	if opts.Role == RoleMI {
		if err := in.startMIListeners(); err != nil {
			in.Close()
			return nil, err
		}
	}
	tlsCfg := opts.TLS
	if tlsCfg == nil {
		cert, caPEM, err := selfSignedCert()
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("sqlsim: TLS certificate: %w", err)
		}
		in.caPEM = caPEM
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if opts.NoEncryption {
		tlsCfg = nil
	}
	in.srv = tds.NewServer(tds.Config{
		TLSConfig:   tlsCfg,
		ServerName:  opts.ServerName,
		ProgVersion: progVersion(opts.ProductVersion),
		Handler:     in,
		Logger:      in.log,
		// Windows logins: Kerberos with a keytab, NTLM against the logins' passwords.
		IntegratedAuth: true,
	})
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("sqlsim: listen on %s: %w", opts.Listen, err)
	}
	in.ln = ln
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		_ = in.srv.Serve(ln)
	}()
	return in, nil
}

func progVersion(v string) [4]byte {
	parts := strings.Split(v, ".")
	var n [4]int
	for i := 0; i < len(parts) && i < 3; i++ {
		n[i], _ = strconv.Atoi(parts[i])
	}
	return [4]byte{byte(n[0]), byte(n[1]), byte(n[2] >> 8), byte(n[2])}
}

func (in *Instance) startMIListeners() error {
	o := in.opts
	ip := o.IP
	if o.FQDN != "" {
		in.net.AddHost(o.FQDN, ip)
	}
	nodeIP := nextIP(ip)
	node := o.NodeName + "." + o.ClusterName
	in.net.AddHost(node, nodeIP)
	for _, hp := range []struct {
		host string
		port int
	}{{ip, 5022}, {nodeIP, o.HadrPort}} {
		l, err := in.net.Listen(hp.host, hp.port)
		if err != nil {
			return fmt.Errorf("sqlsim: MI listener %s:%d: %w", hp.host, hp.port, err)
		}
		in.fixed = append(in.fixed, l)
		go acceptAndClose(l)
	}
	return nil
}

func nextIP(ip string) string {
	i := strings.LastIndex(ip, ".")
	if i < 0 {
		return ip
	}
	n, err := strconv.Atoi(ip[i+1:])
	if err != nil {
		return ip
	}
	return ip[:i+1] + strconv.Itoa(n+1)
}

// Addr returns the TDS listen address (host:port).
func (in *Instance) Addr() string { return in.ln.Addr().String() }

// Host returns the TDS listen host.
func (in *Instance) Host() string { h, _, _ := net.SplitHostPort(in.Addr()); return h }

// Port returns the TDS listen port.
func (in *Instance) Port() int {
	_, p, _ := net.SplitHostPort(in.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Options returns the options the instance was started with.
func (in *Instance) Options() Options { return in.opts }

// Network returns the simulated network the instance lives on.
func (in *Instance) Network() *Network { return in.net }

// CACertPEM returns the PEM of the certificate the instance presents for TLS (nil when
// Options.TLS was given); a client can trust it with go-mssqldb's "certificate" setting.
func (in *Instance) CACertPEM() []byte { return in.caPEM }

// SetAgentRunning starts or stops the simulated SQL Server Agent.
func (in *Instance) SetAgentRunning(on bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.agentOn == on {
		return
	}
	in.agentOn = on
	if on {
		in.agent.newSessionLocked()
	}
}

// SetLoginHook installs a function called at each login before the password check; a
// hook that blocks simulates a login that hangs, one that errors rejects the login.
func (in *Instance) SetLoginHook(f func(ctx context.Context, user string) error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.loginHook = f
}

// SetTokenValidator makes the instance accept federated (Entra) access tokens: f returns
// the login name a token maps to and whether the token is valid.
func (in *Instance) SetTokenValidator(f func(token string) (string, bool)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.tokenCheck = f
}

// Restart simulates a restart of the instance: every client connection is closed,
// running jobs die without an outcome and SQL Server Agent starts a new session. The
// instance's objects (jobs, endpoints, certificates) persist, as they do in msdb and master.
func (in *Instance) Restart() {
	in.mu.Lock()
	in.agent.restartLocked()
	in.mu.Unlock()
	in.srv.DropConnections()
}

// DropConnections closes every client connection, as a network failure would.
func (in *Instance) DropConnections() { in.srv.DropConnections() }

// Close stops the instance: running jobs are abandoned, listeners closed.
func (in *Instance) Close() error {
	in.cancel()
	var err error
	if in.srv != nil {
		err = in.srv.Close()
	}
	if in.ln != nil {
		in.ln.Close()
	}
	in.mu.Lock()
	for _, e := range in.endpoints {
		if e.listener != nil {
			e.listener.Close()
		}
	}
	for _, l := range in.fixed {
		l.Close()
	}
	in.mu.Unlock()
	in.agent.wait()
	in.wg.Wait()
	return err
}

func (in *Instance) newID() int {
	in.nextID++
	return in.nextID
}

func newGUID() [16]byte {
	var g [16]byte
	_, _ = rand.Read(g[:])
	g[6] = (g[6] & 0x0f) | 0x40
	g[8] = (g[8] & 0x3f) | 0x80
	return g
}

func (in *Instance) certByNameLocked(name string) *certificate {
	for _, c := range in.certs {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

func (in *Instance) certByIDLocked(id int) *certificate {
	for _, c := range in.certs {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (in *Instance) endpointByNameLocked(name string) *endpoint {
	for _, e := range in.endpoints {
		if strings.EqualFold(e.name, name) {
			return e
		}
	}
	return nil
}

// Login implements tds.Handler: SQL logins are checked against the logins created
// with CREATE LOGIN (Options.Logins at start-up); token logins map through the
// validator to an external login that is sysadmin.
func (in *Instance) Login(ctx context.Context, req *tds.LoginRequest) (tds.Session, error) {
	in.mu.Lock()
	hook, tokenCheck := in.loginHook, in.tokenCheck
	in.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, req.UserName); err != nil {
			return nil, &tds.Error{Number: 18456, State: 1, Class: 14, Message: fmt.Sprintf("Login failed for user '%s'.", req.UserName)}
		}
	}
	var name string
	if req.SSPI != nil {
		n, err := in.windowsLogin(req)
		if err != nil {
			return nil, err
		}
		name = n
	} else if req.FedAuthToken != "" {
		if tokenCheck == nil {
			return nil, &tds.Error{Number: 18456, State: 1, Class: 14, Message: "Login failed for user '<token-identified principal>'."}
		}
		n, ok := tokenCheck(req.FedAuthToken)
		if !ok {
			return nil, &tds.Error{Number: 18456, State: 1, Class: 14, Message: "Login failed for user '<token-identified principal>'."}
		}
		in.mu.Lock()
		l := in.loginByNameLocked(n)
		if l == nil {
			l = in.addLoginLocked(n, "")
			l.external = true
			in.serverRoles["sysadmin"] = append(in.serverRoles["sysadmin"], l.name)
		}
		name = l.name
		in.mu.Unlock()
	} else if in.opts.EntraOnly {
		return nil, &tds.Error{Number: 18456, State: 1, Class: 14,
			Message: fmt.Sprintf("Login failed for user '%s'. Reason: Azure Active Directory only authentication is enabled. Please contact your system administrator.", req.UserName)}
	} else {
		in.mu.Lock()
		l := in.loginByNameLocked(req.UserName)
		ok := l != nil && !l.external && !l.windows && l.password == req.Password && l.password != ""
		if ok {
			name = l.name
		}
		in.mu.Unlock()
		if !ok {
			return nil, &tds.Error{Number: 18456, State: 1, Class: 14, Message: fmt.Sprintf("Login failed for user '%s'.", req.UserName)}
		}
	}
	db := req.Database
	if db == "" {
		db = "master"
	}
	in.mu.Lock()
	d := in.dbByNameLocked(db)
	in.nextSPID++
	spid := in.nextSPID
	in.mu.Unlock()
	if d == nil {
		return nil, &tds.Error{Number: 4060, State: 1, Class: 11, Message: fmt.Sprintf("Cannot open database \"%s\" requested by the login. The login failed.", db)}
	}
	var remote any
	if req.RemoteAddr != nil {
		remote, _, _ = strings.Cut(req.RemoteAddr.String(), ":")
	}
	s := &session{in: in, loginName: name, db: d.name, loginDB: d.name, spid: spid, remote: remote, traceFlags: map[int]bool{},
		loginTime: time.Now(), hostName: req.HostName, appName: req.AppName}
	in.mu.Lock()
	in.sessions[s] = true
	in.mu.Unlock()
	return s, nil
}

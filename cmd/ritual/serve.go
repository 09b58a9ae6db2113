package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"ritual/grid"
	"ritual/login"
	"ritual/observatory"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/narrative"
)

func init() {
	register("serve", "run a grid: login service and its regions (UDP and capabilities)", runServe)
	register("region", "run one region of a grid kept in PostgreSQL (--db), on the grid's map", runRegion)
}

// regionFlag collects repeated --region values: NAME or NAME@X,Y.
type regionFlag struct {
	specs []grid.RegionSpec
	set   bool
}

func (f *regionFlag) String() string {
	var s []string
	for _, r := range f.specs {
		if r.GridX == 0 && r.GridY == 0 {
			s = append(s, r.Name)
		} else {
			s = append(s, r.String())
		}
	}
	return strings.Join(s, " ")
}

func (f *regionFlag) Set(v string) error {
	if !f.set {
		f.specs, f.set = nil, true
	}
	if !strings.Contains(v, "@") {
		probe := store.Region{Name: v, GridX: 1000, GridY: 1000}
		if err := probe.Validate(); err != nil {
			return err
		}
		f.specs = append(f.specs, grid.RegionSpec{Name: v})
		return nil
	}
	r, err := grid.ParseRegionSpec(v)
	if err != nil {
		return err
	}
	f.specs = append(f.specs, r)
	return nil
}

// gridFlags are the flags ritual serve and ritual region share.
type gridFlags struct {
	fs               *flag.FlagSet
	db               string
	listen, external string
	eqTimeout        time.Duration
	maxCircuits      int
	traceFile        string
	showSecrets      bool
	logLevel         string
	heartbeat        time.Duration
	heartbeatTimeout time.Duration
	maxConns         int
	readTimeout      time.Duration
	summary          time.Duration
	proxies          string
	obsToken         string
	noObs            bool
}

func newGridFlags(name, listen string, stderr io.Writer) *gridFlags {
	f := &gridFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.db, "db", "", "PostgreSQL database of the grid (postgres://user@host/database), shared by its processes")
	f.fs.StringVar(&f.listen, "listen", listen, "host:port for both HTTP (login, capabilities) and UDP (the first region)")
	f.fs.StringVar(&f.external, "external-host", "", "IP literal handed to clients as sim_ip (default: the listen host)")
	f.fs.DurationVar(&f.eqTimeout, "eq-timeout", 50*time.Second, "how long an idle EventQueueGet poll is held before its 502 answer")
	f.fs.IntVar(&f.maxCircuits, "max-circuits", 5000, "cap on concurrent circuits per region")
	f.fs.StringVar(&f.traceFile, "trace", "", "write every probe event as JSON lines to this file")
	f.fs.BoolVar(&f.showSecrets, "show-secrets", false, "do not mask session ids and capability URLs in the trace")
	f.fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.fs.DurationVar(&f.heartbeat, "heartbeat", time.Second, "how often each region refreshes its record on the grid's map")
	f.fs.DurationVar(&f.heartbeatTimeout, "heartbeat-timeout", 3*time.Second, "how long a region may miss heartbeats before it is taken off the map")
	f.fs.IntVar(&f.maxConns, "max-conns-per-address", grid.DefaultMaxConnsPerAddress, "cap on HTTP connections one address holds open at once (0: no cap)")
	f.fs.DurationVar(&f.readTimeout, "read-timeout", grid.DefaultReadTimeout, "how long a request, body included, may take to arrive")
	f.fs.DurationVar(&f.summary, "summary-interval", grid.DefaultSummaryInterval, "how often to log a warning summing up refused logins and dropped datagrams, when there were any (0: never)")
	f.fs.StringVar(&f.proxies, "trusted-proxy", "", "comma-separated addresses or CIDR prefixes of reverse proxies in front of the grid: logins are throttled by the address their X-Forwarded-For names, and their connections are not capped")
	f.fs.StringVar(&f.obsToken, "observatory-token", "", "serve the live observatory at /observatory/ to holders of this token (else $"+observatoryTokenEnv+"; without one it is served only on a loopback listener)")
	f.fs.BoolVar(&f.noObs, "no-observatory", false, "do not serve the live observatory")
	return f
}

func runServe(args []string, stdout, stderr io.Writer) int {
	f := newGridFlags("serve", "127.0.0.1:9000", stderr)
	data := f.fs.String("data", "", "data directory of the SQLite database (default: "+defaultDataDirHint()+"); not with --db")
	regions := &regionFlag{specs: []grid.RegionSpec{{Name: "Ritual"}}}
	f.fs.Var(regions, "region", "a region to run: NAME or NAME@X,Y (grid coordinates); repeat for several")
	noRegion := f.fs.Bool("no-region", false, "run the login service only, placing agents in the regions of other processes (needs --db)")
	addrThrottle := f.fs.Int("address-throttle", login.DefaultAddressThrottle.Burst, "failed logins one address may make in a row before it is refused, then one every "+login.DefaultAddressThrottle.Every.String()+" (0: no address throttle, e.g. behind a reverse proxy)")
	if err := f.fs.Parse(args); err != nil {
		return 2
	}
	if *addrThrottle < 0 {
		fmt.Fprintln(stderr, "ritual serve: --address-throttle must not be negative")
		return 2
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual serve: unexpected argument %q\n", f.fs.Arg(0))
		return 2
	}
	switch {
	case f.db != "" && *data != "":
		fmt.Fprintln(stderr, "ritual serve: --db and --data exclude each other")
		return 2
	case *noRegion && regions.set:
		fmt.Fprintln(stderr, "ritual serve: --no-region and --region exclude each other")
		return 2
	case *noRegion && f.db == "":
		fmt.Fprintln(stderr, "ritual serve: --no-region needs --db: regions in other processes share the grid through PostgreSQL")
		return 2
	}
	cfg := grid.Config{Regions: regions.specs, NoRegion: *noRegion}
	cfg.AddressThrottle = login.Throttle{Burst: *addrThrottle}
	if *addrThrottle == 0 {
		cfg.AddressThrottle.Burst = -1 // login.Throttle: negative is off
	}
	if *noRegion {
		cfg.Regions = nil
	}
	where := ""
	if f.db == "" {
		dir := *data
		if dir == "" {
			var err error
			if dir, err = defaultDataDir(); err != nil {
				fmt.Fprintf(stderr, "ritual serve: %v\n", err)
				return 1
			}
		}
		cfg.DataDir, where = dir, "data in "+dir
	}
	return f.run("ritual serve", cfg, where, stdout, stderr)
}

func runRegion(args []string, stdout, stderr io.Writer) int {
	f := newGridFlags("region", "127.0.0.1:0", stderr)
	name := f.fs.String("name", "", "the region's name (required)")
	location := f.fs.String("location", "", "the region's grid coordinates X,Y in 256 m units (required)")
	if err := f.fs.Parse(args); err != nil {
		return 2
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual region: unexpected argument %q\n", f.fs.Arg(0))
		return 2
	}
	if f.db == "" || *name == "" || *location == "" {
		fmt.Fprintln(stderr, "ritual region: --db, --name and --location are required")
		f.fs.Usage()
		return 2
	}
	spec, err := grid.ParseRegionSpec(*name + "@" + *location)
	if err != nil {
		fmt.Fprintf(stderr, "ritual region: %v\n", err)
		return 2
	}
	return f.run("ritual region", grid.Config{Regions: []grid.RegionSpec{spec}, NoLogin: true}, "", stdout, stderr)
}

// run starts the grid cfg describes with the shared flags, reports it and
// serves until interrupted.
func (f *gridFlags) run(name string, cfg grid.Config, where string, stdout, stderr io.Writer) int {
	if f.maxConns < 0 || f.readTimeout <= 0 || f.summary < 0 {
		fmt.Fprintf(stderr, "%s: --max-conns-per-address and --summary-interval must not be negative, --read-timeout must be positive\n", name)
		return 2
	}
	trusted, err := parsePrefixes(f.proxies)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --trusted-proxy: %v\n", name, err)
		return 2
	}
	if f.maxConns == 0 {
		f.maxConns = -1 // grid.Config: negative is no cap
	}
	if f.summary == 0 {
		f.summary = -1
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(stderr, "%s: --log-level: %v\n", name, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var rec trace.Recorder
	var sink *trace.WriterSink
	if f.traceFile != "" {
		file, err := os.OpenFile(f.traceFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "%s: --trace: %v\n", name, err)
			return 1
		}
		defer file.Close()
		sink = trace.NewWriterSink(file, trace.Secrets(f.showSecrets))
		rec = sink
		defer sink.Flush()
	}

	var live *observatory.Live
	token, obsOn, obsWhy := observatoryAccess(f.listen, f.obsToken, f.noObs)
	if obsOn {
		live = observatory.NewLive(observatory.LiveConfig{
			// The pages mask secrets whatever --show-secrets says of the
			// trace file: they may be watched from elsewhere.
			Token:     token,
			Narrative: narrative.Options{ServerName: "Ritual grid (" + name + ")"},
		})
		defer live.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	if f.db != "" {
		st, err := openDB(ctx, f.db)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			var ue usageError
			if errors.As(err, &ue) {
				return 2
			}
			return 1
		}
		defer st.Close()
		cfg.Store, where = st, "database "+st.String()
	}
	cfg.Listen, cfg.ExternalHost = f.listen, f.external
	cfg.EQTimeout, cfg.MaxCircuits = f.eqTimeout, f.maxCircuits
	cfg.Heartbeat, cfg.HeartbeatTimeout = f.heartbeat, f.heartbeatTimeout
	cfg.MaxConnsPerAddress, cfg.ReadTimeout, cfg.SummaryInterval = f.maxConns, f.readTimeout, f.summary
	cfg.TrustedProxies, cfg.Observatory = trusted, observatoryOf(live)
	cfg.Recorder, cfg.Logger = rec, logger
	srv, err := grid.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	ready := time.Since(start).Round(time.Millisecond)
	for _, r := range srv.Regions {
		info := r.Info()
		fmt.Fprintf(stdout, "%s: region %q at grid %d,%d (%d prims) ready in %v\n",
			name, info.Name, info.GridX, info.GridY, r.Objects(), ready)
	}
	if srv.Login != nil {
		fmt.Fprintf(stdout, "%s: login URI %s (HTTP and UDP on %s), %s\n", name, srv.LoginURI(), srv.Addr(), where)
	} else {
		fmt.Fprintf(stdout, "%s: capabilities on %s, %s\n", name, srv.Addr(), where)
	}
	if live != nil {
		fmt.Fprintf(stdout, "%s: observatory at http://%s/observatory/ (%s)\n", name, srv.Addr(), obsWhy)
	} else {
		fmt.Fprintf(stdout, "%s: %s\n", name, obsWhy)
	}

	<-ctx.Done()
	stop()
	fmt.Fprintf(stdout, "%s: shutting down: leaving the map, telling every agent, flushing storage\n", name)
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		fmt.Fprintf(stderr, "%s: shutdown: %v\n", name, err)
		return 1
	}
	if sink != nil {
		if err := sink.Flush(); err != nil {
			fmt.Fprintf(stderr, "%s: --trace: %v\n", name, err)
			return 1
		}
	}
	return 0
}

// parsePrefixes reads comma-separated IP addresses (each its own /32 or
// /128) and CIDR prefixes.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// observatoryTokenEnv holds the observatory token when --observatory-token
// is not given (a flag's value shows in the process list).
const observatoryTokenEnv = "RITUAL_OBSERVATORY_TOKEN"

// observatoryAccess decides whether a command serves its live
// observatory on an HTTP listener at listen, with the token of
// --observatory-token (flagToken) or else of $RITUAL_OBSERVATORY_TOKEN, and
// off set by --no-observatory: the token to ask of visitors, whether it is
// on, and why, for the operator.
func observatoryAccess(listen, flagToken string, off bool) (token string, on bool, why string) {
	token = flagToken
	if token == "" {
		token = os.Getenv(observatoryTokenEnv)
	}
	if off {
		return "", false, "the observatory is off (--no-observatory)"
	}
	on, why = observatory.Access(listen, token)
	return token, on, why
}

// observatoryOf is live as the grid's Observatory, or nil (not a nil
// pointer in an interface) when it is off.
func observatoryOf(live *observatory.Live) grid.Observatory {
	if live == nil {
		return nil
	}
	return live
}

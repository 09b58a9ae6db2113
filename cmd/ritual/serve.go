package main

import (
	"context"
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
	"ritual/trace"
	"ritual/trace/narrative"
)

func init() {
	register("serve", "run a grid: login service and one region (UDP and capabilities)", runServe)
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "data directory (default: "+defaultDataDirHint()+")")
	listen := fs.String("listen", "127.0.0.1:9000", "host:port for both HTTP (login, capabilities) and UDP (the region)")
	external := fs.String("external-host", "", "IP literal handed to clients as sim_ip (default: the listen host)")
	region := fs.String("region", "Ritual", "region name")
	eqTimeout := fs.Duration("eq-timeout", 50*time.Second, "how long an idle EventQueueGet poll is held before its 502 answer")
	maxCircuits := fs.Int("max-circuits", 5000, "cap on concurrent circuits")
	maxConns := fs.Int("max-conns-per-address", grid.DefaultMaxConnsPerAddress, "cap on HTTP connections one address holds open at once (0: no cap)")
	readTimeout := fs.Duration("read-timeout", grid.DefaultReadTimeout, "how long a request, body included, may take to arrive")
	addrThrottle := fs.Int("address-throttle", login.DefaultAddressThrottle.Burst, "failed logins one address may make in a row before it is refused, then one every "+login.DefaultAddressThrottle.Every.String()+" (0: no address throttle, e.g. behind a reverse proxy)")
	proxies := fs.String("trusted-proxy", "", "comma-separated addresses or CIDR prefixes of reverse proxies in front of the grid: logins are throttled by the address their X-Forwarded-For names, and their connections are not capped")
	summary := fs.Duration("summary-interval", grid.DefaultSummaryInterval, "how often to log a warning summing up refused logins and dropped datagrams, when there were any (0: never)")
	traceFile := fs.String("trace", "", "write every probe event as JSON lines to this file")
	showSecrets := fs.Bool("show-secrets", false, "do not mask session ids and capability URLs in the trace")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	obsToken := fs.String("observatory-token", "", "serve the live observatory at /observatory/ to holders of this token (else $"+observatoryTokenEnv+"; without one it is served only on a loopback listener)")
	noObs := fs.Bool("no-observatory", false, "do not serve the live observatory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *maxConns < 0 || *readTimeout <= 0 || *summary < 0 || *addrThrottle < 0 {
		fmt.Fprintln(stderr, "ritual serve: --max-conns-per-address, --address-throttle and --summary-interval must not be negative, --read-timeout must be positive")
		return 2
	}
	trusted, err := parsePrefixes(*proxies)
	if err != nil {
		fmt.Fprintf(stderr, "ritual serve: --trusted-proxy: %v\n", err)
		return 2
	}
	addressThrottle := login.Throttle{Burst: *addrThrottle}
	if *addrThrottle == 0 {
		addressThrottle.Burst = -1 // login.Throttle: negative is off
	}
	if *maxConns == 0 {
		*maxConns = -1 // grid.Config: negative is no cap
	}
	if *summary == 0 {
		*summary = -1
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "ritual serve: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	dir := *data
	if dir == "" {
		var err error
		if dir, err = defaultDataDir(); err != nil {
			fmt.Fprintf(stderr, "ritual serve: %v\n", err)
			return 1
		}
	}

	var rec trace.Recorder
	var sink *trace.WriterSink
	if *traceFile != "" {
		f, err := os.OpenFile(*traceFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "ritual serve: --trace: %v\n", err)
			return 1
		}
		defer f.Close()
		sink = trace.NewWriterSink(f, trace.Secrets(*showSecrets))
		rec = sink
		defer sink.Flush()
	}

	var live *observatory.Live
	token := *obsToken
	if token == "" {
		token = os.Getenv(observatoryTokenEnv)
	}
	obsOn, obsWhy := observatory.Access(*listen, token)
	if *noObs {
		obsOn, obsWhy = false, "the observatory is off (--no-observatory)"
	}
	if obsOn {
		live = observatory.NewLive(observatory.LiveConfig{
			// The pages mask secrets whatever --show-secrets says of the
			// trace file: they may be watched from elsewhere.
			Token:     token,
			Narrative: narrative.Options{ServerName: "Ritual grid (ritual serve)"},
		})
		defer live.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	srv, err := grid.Start(ctx, grid.Config{
		DataDir:      dir,
		Listen:       *listen,
		ExternalHost: *external,
		RegionName:   *region,
		EQTimeout:    *eqTimeout,
		MaxCircuits:  *maxCircuits,
		Recorder:     rec,
		Logger:       logger,
		Observatory:  observatoryOf(live),

		MaxConnsPerAddress: *maxConns,
		ReadTimeout:        *readTimeout,
		SummaryInterval:    *summary,
		AddressThrottle:    addressThrottle,
		TrustedProxies:     trusted,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ritual serve: %v\n", err)
		return 1
	}
	info := srv.Region.Info()
	fmt.Fprintf(stdout, "ritual serve: region %q at grid %d,%d (%d prims) ready in %v\n",
		info.Name, info.GridX, info.GridY, srv.Region.Objects(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "ritual serve: login URI %s (HTTP and UDP on %s), data in %s\n", srv.LoginURI(), srv.Addr(), dir)
	if live != nil {
		fmt.Fprintf(stdout, "ritual serve: observatory at http://%s/observatory/ (%s)\n", srv.Addr(), obsWhy)
	} else {
		fmt.Fprintf(stdout, "ritual serve: %s\n", obsWhy)
	}

	<-ctx.Done()
	stop()
	fmt.Fprintln(stdout, "ritual serve: shutting down: telling every agent, flushing storage")
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		fmt.Fprintf(stderr, "ritual serve: shutdown: %v\n", err)
		return 1
	}
	if sink != nil {
		if err := sink.Flush(); err != nil {
			fmt.Fprintf(stderr, "ritual serve: --trace: %v\n", err)
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

// observatoryOf is live as the grid's Observatory, or nil (not a nil
// pointer in an interface) when it is off.
func observatoryOf(live *observatory.Live) grid.Observatory {
	if live == nil {
		return nil
	}
	return live
}

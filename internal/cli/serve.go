package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/server"
)

func newServeCmd() *cobra.Command {
	var data, addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the core-identity provider, the issuer and the verification API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %v (choose another with --addr)", addr, err)
			}
			defer ln.Close()
			srv, err := server.Open(cmd.Context(), server.Options{DataDir: data, Progress: progress(out), BaseURL: "http://" + ln.Addr().String()})
			if err != nil {
				return err
			}
			defer srv.Close()
			fmt.Fprintf(out, "mustard is serving on http://%s (data in %s)\n", ln.Addr(), data)
			return serveUntilDone(cmd.Context(), srv.Handler(), ln, out)
		},
	}
	cmd.Flags().StringVar(&data, "data", "./mustard-data", "data directory")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	return cmd
}

// serveUntilDone serves until ctx ends, then shuts down gracefully,
// finishing requests in flight.
func serveUntilDone(ctx context.Context, h http.Handler, ln net.Listener, out io.Writer) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// progress prints a line per step, with the time it started.
func progress(out io.Writer) func(string) {
	start := time.Now()
	return func(msg string) {
		fmt.Fprintf(out, "  [%5.1fs] %s\n", time.Since(start).Seconds(), msg)
	}
}

package tlsconfig

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a CA that signs one server certificate for 127.0.0.1.
type testCA struct {
	cert   *x509.Certificate
	pem    []byte
	server tls.Certificate
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: name + " server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{
		cert:   caCert,
		pem:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
}

// serve starts an HTTPS server presenting the CA's server certificate.
func (ca testCA) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// get fetches url with cfg and reports the error, if any.
func get(t *testing.T, cfg *tls.Config, url string) error {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	return nil
}

func TestClient(t *testing.T) {
	ca := newTestCA(t, "test CA")
	caFile := writeFile(t, ca.pem)
	dir := t.TempDir()
	keyOnly := writeFile(t, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	badCert := writeFile(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	// A bundle with one broken certificate still loads the good one, as the system bundle does.
	mixed := writeFile(t, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), ca.pem...))

	tests := []struct {
		name     string
		settings Settings
		wantErr  []string // substrings of the error; nil: no error
		wantIs   error
		insecure bool
		hasRoots bool // RootCAs set (nil means Go's system roots)
	}{
		{name: "defaults", settings: Settings{}},
		{name: "ca_file", settings: Settings{CAFile: caFile}, hasRoots: true},
		{name: "bundle with a broken certificate", settings: Settings{CAFile: mixed}, hasRoots: true},
		{name: "insecure", settings: Settings{InsecureSkipVerify: true}, insecure: true},
		{name: "missing file", settings: Settings{CAFile: filepath.Join(dir, "nope.pem")},
			wantErr: []string{`ca_file: "` + filepath.Join(dir, "nope.pem") + `": no such file`}, wantIs: fs.ErrNotExist},
		{name: "directory", settings: Settings{CAFile: dir},
			wantErr: []string{`ca_file: "` + dir + `": `, "directory"}},
		{name: "not PEM", settings: Settings{CAFile: writeFile(t, []byte("hello\n"))},
			wantErr: []string{`ca_file: "`, `": no PEM certificates found`}, wantIs: ErrNoCertificates},
		{name: "PEM without a certificate", settings: Settings{CAFile: keyOnly},
			wantErr: []string{`ca_file: "` + keyOnly + `": no PEM certificates found`}, wantIs: ErrNoCertificates},
		{name: "unparsable certificate", settings: Settings{CAFile: badCert},
			wantErr: []string{`ca_file: "` + badCert + `": certificate 1: x509: `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg, err := Client(tt.settings, slog.New(slog.NewTextHandler(&logs, nil)), `test source "a"`)
			if checkErr := tt.settings.Check(); (checkErr == nil) != (err == nil) {
				t.Errorf("Check = %v, Client = %v: want the same verdict", checkErr, err)
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want an error containing %q, got none", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
			}
			if cfg.InsecureSkipVerify != tt.insecure {
				t.Errorf("InsecureSkipVerify = %v, want %v", cfg.InsecureSkipVerify, tt.insecure)
			}
			if (cfg.RootCAs != nil) != tt.hasRoots {
				t.Errorf("RootCAs set = %v, want %v", cfg.RootCAs != nil, tt.hasRoots)
			}
			warned := strings.Contains(logs.String(), "level=WARN") &&
				strings.Contains(logs.String(), `test source \"a\": TLS certificate verification is OFF`)
			if warned != tt.insecure {
				t.Errorf("warning logged = %v, want %v; logs:\n%s", warned, tt.insecure, logs.String())
			}
		})
	}
}

// TestCAFileReachesServer: a server with a certificate from a private CA is reachable with
// ca_file and not without it; insecure reaches it too.
func TestCAFileReachesServer(t *testing.T) {
	ca := newTestCA(t, "private CA")
	url := ca.serve(t)
	for _, tt := range []struct {
		name     string
		settings Settings
		wantOK   bool
	}{
		{"system roots only", Settings{}, false},
		{"ca_file", Settings{CAFile: writeFile(t, ca.pem)}, true},
		{"insecure", Settings{InsecureSkipVerify: true}, true},
		{"other CA", Settings{CAFile: writeFile(t, newTestCA(t, "other CA").pem)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Transport(tt.settings, nil, "test")
			if err != nil {
				t.Fatal(err)
			}
			defer tr.CloseIdleConnections()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Fatalf("GET %s: %v, want success %v", url, err, tt.wantOK)
			}
			var unknown x509.UnknownAuthorityError
			if err != nil && (!errors.As(err, &unknown) || !Untrusted(err)) {
				t.Errorf("want an unknown-authority error that Untrusted knows, got %v", err)
			}
		})
	}
}

// TestCAFileAddsToSystemRoots: ca_file adds to the system's roots rather than replacing them.
// With a stand-in system pool both a server signed by a "system" CA and one signed by the
// ca_file's CA are reachable; with the real system pool the result equals that pool plus the CA.
func TestCAFileAddsToSystemRoots(t *testing.T) {
	system, private := newTestCA(t, "system CA"), newTestCA(t, "private CA")
	caFile := writeFile(t, private.pem)

	t.Run("stand-in system pool", func(t *testing.T) {
		systemPool := func() (*x509.CertPool, error) {
			p := x509.NewCertPool()
			p.AddCert(system.cert)
			return p, nil
		}
		cfg, err := newClient(Settings{CAFile: caFile}, nil, "test", systemPool)
		if err != nil {
			t.Fatal(err)
		}
		for name, url := range map[string]string{"system": system.serve(t), "ca_file": private.serve(t)} {
			if err := get(t, cfg, url); err != nil {
				t.Errorf("server signed by the %s CA: %v", name, err)
			}
		}
	})

	t.Run("no system pool", func(t *testing.T) {
		cfg, err := newClient(Settings{CAFile: caFile}, nil, "test",
			func() (*x509.CertPool, error) { return nil, errors.New("no bundle") })
		if err != nil {
			t.Fatal(err)
		}
		want := x509.NewCertPool()
		want.AddCert(private.cert)
		if !cfg.RootCAs.Equal(want) {
			t.Error("without a system pool the roots should be the ca_file's certificates alone")
		}
		if err := get(t, cfg, private.serve(t)); err != nil {
			t.Errorf("server signed by the ca_file's CA: %v", err)
		}
	})

	t.Run("real system pool", func(t *testing.T) {
		want, err := x509.SystemCertPool()
		if err != nil {
			t.Skipf("no system pool here: %v (covered by the stand-in)", err)
		}
		want.AddCert(private.cert)
		cfg, err := Client(Settings{CAFile: caFile}, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.RootCAs.Equal(want) {
			t.Error("RootCAs is not the system pool plus the ca_file's certificate")
		}
		if sys, _ := x509.SystemCertPool(); cfg.RootCAs.Equal(sys) {
			t.Error("RootCAs lacks the ca_file's certificate")
		}
	})
}

func TestUntrusted(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), true},
		{x509.HostnameError{Host: "pve"}, true},
		{&tls.CertificateVerificationError{Err: errors.New("expired")}, true},
		{errors.New("connection refused"), false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	} {
		if got := Untrusted(tt.err); got != tt.want {
			t.Errorf("Untrusted(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

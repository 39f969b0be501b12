// Package tlsconfig is the one TLS client setup of the agent: NetBox and every HTTPS source
// build their tls.Config here, so ca_file and insecure_skip_verify mean the same everywhere.
//
// ca_file adds its certificates to the system's roots (it does not replace them): a private CA
// for one server must not make every publicly signed certificate untrusted, and the system
// bundle keeps working when the server later gets a public certificate.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
)

// CAFileField is the config key of the CA bundle in every section. Errors start with it, so
// the config loader files them under the section's path (sources.proxmox[0].ca_file).
const CAFileField = "ca_file"

// ErrNoCertificates is returned for a ca_file that holds no PEM certificate.
var ErrNoCertificates = errors.New("no PEM certificates found")

// Settings are the TLS fields of a client's config section. Every section embeds them
// (`yaml:",inline"`), so the keys, their meaning and their check are written once.
type Settings struct {
	// CAFile is a PEM bundle trusted in addition to the system's roots; "" trusts the system's
	// roots only.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns certificate verification off (default false; only for labs).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Client returns the TLS configuration of one client: TLS 1.2 or newer, the system's roots
// plus the certificates in CAFile, verification off only when InsecureSkipVerify is set.
// With verification off it warns on logger, naming client (e.g. `proxmox source "pve"`);
// callers build a client once, so the warning comes once per configured client.
func Client(s Settings, logger *slog.Logger, client string) (*tls.Config, error) {
	return newClient(s, logger, client, x509.SystemCertPool)
}

// Transport is a clone of http.DefaultTransport with Client's TLS configuration: the HTTP
// transport every client of the agent starts from.
func Transport(s Settings, logger *slog.Logger, client string) (*http.Transport, error) {
	cfg, err := Client(s, logger, client)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return tr, nil
}

// Untrusted reports whether err is a server certificate that did not verify (unknown
// authority, wrong host name), for the hint to set ca_file.
func Untrusted(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	return errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr)
}

// newClient takes the system pool's loader as an argument so tests can stand in a known one.
func newClient(s Settings, logger *slog.Logger, client string, systemPool func() (*x509.CertPool, error)) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.InsecureSkipVerify, //nolint:gosec // explicit opt-in by config, warned about below
	}
	if s.CAFile != "" {
		certs, err := readCAFile(s.CAFile)
		if err != nil {
			return nil, err
		}
		pool, err := systemPool()
		if err != nil || pool == nil {
			// No system bundle (a scratch container): the ca_file alone is still useful.
			pool = x509.NewCertPool()
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		cfg.RootCAs = pool
	}
	if s.InsecureSkipVerify && logger != nil {
		logger.Warn(client + ": TLS certificate verification is OFF (insecure_skip_verify): " +
			"the server is not authenticated and its credentials can be intercepted")
	}
	return cfg, nil
}

// Check reports, for Config.Validate, whether a set CAFile can be read and holds at least one
// certificate: the error starts with "ca_file: " and names the file. No CAFile is no error.
func (s Settings) Check() error {
	if s.CAFile == "" {
		return nil
	}
	_, err := readCAFile(s.CAFile)
	return err
}

// readCAFile parses every certificate in the PEM file at path. Blocks that are not
// certificates, and certificates Go cannot parse, are skipped like x509.CertPool's
// AppendCertsFromPEM does (a copy of a system bundle may hold one); the file is refused only
// when nothing usable is left.
func readCAFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The path is in the message already; keep the cause (errors.Is(err, fs.ErrNotExist)).
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %q: %w", CAFileField, path, err)
	}
	var (
		certs    []*x509.Certificate
		parseErr error
		block    *pem.Block
		n        int // certificate blocks seen, for the message
	)
	for {
		if block, data = pem.Decode(data); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		n++
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			if parseErr == nil {
				parseErr = fmt.Errorf("certificate %d: %w", n, err)
			}
			continue
		}
		certs = append(certs, c)
	}
	switch {
	case len(certs) > 0:
		return certs, nil
	case parseErr != nil:
		return nil, fmt.Errorf("%s: %q: %w", CAFileField, path, parseErr)
	}
	return nil, fmt.Errorf("%s: %q: %w", CAFileField, path, ErrNoCertificates)
}

package homeassistant

import (
	"crypto/tls"
	"net/http"
)

// TLSConfigOf exposes a source's TLS settings to the external tests.
func TLSConfigOf(s *Source) *tls.Config {
	return s.client.http.Transport.(*http.Transport).TLSClientConfig
}

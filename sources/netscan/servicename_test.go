package netscan

import "testing"

func TestServiceName(t *testing.T) {
	tests := []struct{ name, tunnel, want string }{
		{"http", "ssl", "https"},
		{"imap", "ssl", "imaps"},
		{"ldap", "ssl", "ldaps"},
		{"pop3", "ssl", "pop3s"},
		{"smtp", "ssl", "smtps"},
		{"unknown", "ssl", "ssl/unknown"},
		{"http", "", "http"},
		{"ssh", "", "ssh"},
		{"", "ssl", ""},
	}
	for _, tt := range tests {
		if got := serviceName(tt.name, tt.tunnel); got != tt.want {
			t.Errorf("serviceName(%q, %q) = %q, want %q", tt.name, tt.tunnel, got, tt.want)
		}
	}
}

package reliability

import "testing"

func secretRows(t *testing.T, m *matrix) {}

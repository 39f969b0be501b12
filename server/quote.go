package server

import (
	"fmt"
	"strconv"
	"strings"
)

// maxQuotedArg bounds how much of an argument a tool error echoes: enough to recognise the
// value, never enough for a hostile 900 KiB argument to come back whole (and push the
// error itself over the result-size limit, hiding which field was wrong).
const maxQuotedArg = 120

// quoteArg quotes an argument value for an error message, eliding the middle of a long one
// and saying how long it was.
func quoteArg(s string) string {
	if len(s) <= maxQuotedArg {
		return strconv.Quote(s)
	}
	// Cutting bytes may split a rune at either end: drop the broken pieces.
	head := strings.ToValidUTF8(s[:maxQuotedArg*2/3], "")
	tail := strings.ToValidUTF8(s[len(s)-maxQuotedArg/3:], "")
	return fmt.Sprintf("%s…%s (%d bytes)", strconv.Quote(head), strconv.Quote(tail), len(s))
}

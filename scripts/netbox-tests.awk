# Prints, as a go test -run pattern, the Test functions of the *_test.go files given that use a
# NetBox target (their body, or a helper function they call, mentions PAT: newLab( or
# testnetbox.New( by default). make test-netbox runs only those: the rest do not talk to
# NetBox and already ran in make test.
BEGIN { if (PAT == "") PAT = "newLab\\(|testnetbox\\.New\\(|[ \t=(]New\\(t[,)]" }
/^func / {
  name = $0
  sub(/^func (\([^)]*\) )?/, "", name); sub(/[\[(].*/, "", name)
  cur = name; order[++n] = cur
  next
}
/^}/ { cur = ""; next }
cur != "" { body[cur] = body[cur] "\n" $0 }
END {
  for (i = 1; i <= n; i++) if (body[order[i]] ~ PAT) uses[order[i]] = 1
  # one or two levels of helpers: a function that calls a function that uses a target
  for (pass = 0; pass < 2; pass++)
    for (i = 1; i <= n; i++) {
      f = order[i]
      if (f in uses) continue
      for (h in uses) if (h !~ /^Test/ && index(body[f], h "(") > 0) { uses[f] = 1; break }
    }
  out = ""
  for (i = 1; i <= n; i++) if ((order[i] in uses) && order[i] ~ /^Test[A-Z0-9_]/ && !seen[order[i]]++) out = out (out == "" ? "" : "|") order[i]
  if (out != "") print "^(" out ")$"
}

// Package deploycheck holds the tests that prove what Firebreak ships for
// Kubernetes: the Helm chart in charts/firebreak and the Kustomize overlays
// in deploy/ render, decode strictly into the Kubernetes API types, and meet
// the restricted Pod Security Standard, probe, resource and drain rules.
package deploycheck

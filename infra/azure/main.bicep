// sentinel-bot on Azure Container Apps: managed identity, environment, app,
// optional PostgreSQL Flexible Server, and Sentinel role assignments.
targetScope = 'resourceGroup'

@description('Base name for the resources.')
param name string = 'sentinel-bot'
param location string = resourceGroup().location

@description('Container image, e.g. ghcr.io/example/sentinel-bot:1.0.0')
param image string

@description('Existing Log Analytics workspace for the Container Apps environment logs.')
param logAnalyticsWorkspaceName string
param logAnalyticsResourceGroup string = resourceGroup().name

@description('Sentinel workspace (scope of the role assignments); must be in this resource group.')
param sentinelWorkspaceName string
@description('Sentinel workspace id (customer id GUID) used for queries.')
param sentinelWorkspaceId string

param minReplicas int = 1
param maxReplicas int = 3

param teamsAppId string = ''
@secure()
param teamsAppPassword string = ''
@secure()
param slackBotToken string = ''
@secure()
param slackSigningSecret string = ''
@secure()
param llmApiKey string = ''
param llmProvider string = 'azure_open_ai'
param llmBaseUrl string = ''
param llmModel string = 'gpt-4o-mini'
@secure()
param triageWebhookSecret string

@description('Listener of /metrics. The default, loopback, keeps it off the ingress (only port 3978 is routed); a scraper inside the environment needs e.g. 0.0.0.0:9464 plus metricsToken.')
param metricsBind string = '127.0.0.1:9464'
@description('When not empty, /metrics answers only requests with Authorization: Bearer <token>.')
@secure()
param metricsToken string = ''

@description('Create a PostgreSQL Flexible Server; otherwise pass storeUrl.')
param deployPostgres bool = true
@secure()
param postgresAdminPassword string = ''
@description('Store URL when deployPostgres is false (one replica only for sqlite).')
@secure()
param storeUrl string = ''

var postgresAdmin = 'sentinelbot'
var postgresServerName = '${name}-pg-${uniqueString(resourceGroup().id)}'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' existing = {
  name: logAnalyticsWorkspaceName
  scope: resourceGroup(logAnalyticsResourceGroup)
}

resource sentinelWorkspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' existing = {
  name: sentinelWorkspaceName
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = if (deployPostgres) {
  name: postgresServerName
  location: location
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    administratorLogin: postgresAdmin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: 32
    }
  }
}

resource postgresDb 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2022-12-01' = if (deployPostgres) {
  parent: postgres
  name: 'sentinel'
}

// Lets Azure services (the Container Apps environment) reach the server.
resource postgresFirewall 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2022-12-01' = if (deployPostgres) {
  parent: postgres
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

var effectiveStoreUrl = deployPostgres
  ? 'postgres://${postgresAdmin}:${uriComponent(postgresAdminPassword)}@${postgresServerName}.postgres.database.azure.com:5432/sentinel?sslmode=require'
  : storeUrl

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: env.id
    configuration: {
      ingress: {
        external: true
        targetPort: 3978
        transport: 'auto'
      }
      // Secrets could also be Key Vault references: { name, keyVaultUrl, identity: identity.id }.
      secrets: [
        { name: 'store-url', value: effectiveStoreUrl }
        { name: 'teams-app-password', value: teamsAppPassword }
        { name: 'slack-bot-token', value: slackBotToken }
        { name: 'slack-signing-secret', value: slackSigningSecret }
        { name: 'llm-api-key', value: llmApiKey }
        { name: 'triage-webhook-secret', value: triageWebhookSecret }
        { name: 'metrics-token', value: metricsToken }
      ]
    }
    template: {
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
      containers: [
        {
          name: 'sentinel-bot'
          image: image
          args: [ 'serve' ]
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
          env: [
            { name: 'SENTINEL_BOT__SERVER__BIND', value: '0.0.0.0:3978' }
            { name: 'SENTINEL_BOT__SERVER__METRICS_BIND', value: metricsBind }
            { name: 'SENTINEL_BOT__AZURE__AUTH', value: 'managed_identity' }
            { name: 'SENTINEL_BOT__AZURE__CLIENT_ID', value: identity.properties.clientId }
            { name: 'SENTINEL_BOT__AZURE__TENANT_ID', value: subscription().tenantId }
            { name: 'SENTINEL_BOT__AZURE__SUBSCRIPTION_ID', value: subscription().subscriptionId }
            { name: 'SENTINEL_BOT__AZURE__RESOURCE_GROUP', value: resourceGroup().name }
            { name: 'SENTINEL_BOT__AZURE__WORKSPACE_NAME', value: sentinelWorkspaceName }
            { name: 'SENTINEL_BOT__AZURE__WORKSPACE_ID', value: sentinelWorkspaceId }
            { name: 'SENTINEL_BOT__TEAMS__APP_ID', value: teamsAppId }
            { name: 'SENTINEL_BOT__TEAMS__APP_PASSWORD', secretRef: 'teams-app-password' }
            { name: 'SENTINEL_BOT__SLACK__BOT_TOKEN', secretRef: 'slack-bot-token' }
            { name: 'SENTINEL_BOT__SLACK__SIGNING_SECRET', secretRef: 'slack-signing-secret' }
            { name: 'SENTINEL_BOT__LLM__PROVIDER', value: llmProvider }
            { name: 'SENTINEL_BOT__LLM__BASE_URL', value: llmBaseUrl }
            { name: 'SENTINEL_BOT__LLM__MODEL', value: llmModel }
            { name: 'SENTINEL_BOT__LLM__API_KEY', secretRef: 'llm-api-key' }
            { name: 'SENTINEL_BOT__STORE__URL', secretRef: 'store-url' }
            { name: 'SENTINEL_BOT__TRIAGE__ENABLED', value: 'true' }
            { name: 'SENTINEL_BOT__TRIAGE__WEBHOOK_SECRET', secretRef: 'triage-webhook-secret' }
            // Empty means no token.
            { name: 'SENTINEL_BOT__SERVER__METRICS_TOKEN', secretRef: 'metrics-token' }
          ]
          probes: [
            { type: 'Readiness', httpGet: { path: '/readyz', port: 3978 } }
            { type: 'Liveness', httpGet: { path: '/healthz', port: 3978 } }
          ]
        }
      ]
    }
  }
}

var sentinelResponderRoleId = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
var logAnalyticsReaderRoleId = '73c42c96-874c-492b-b04d-ab87d138a893'

resource responder 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sentinelWorkspace.id, identity.id, sentinelResponderRoleId)
  scope: sentinelWorkspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelResponderRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sentinelWorkspace.id, identity.id, logAnalyticsReaderRoleId)
  scope: sentinelWorkspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReaderRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output fqdn string = app.properties.configuration.ingress.fqdn
output messagingEndpoint string = 'https://${app.properties.configuration.ingress.fqdn}/api/messages'
output identityClientId string = identity.properties.clientId

/**
 * The operations of the subscriber guide (asset-register-subscriptions.txt), opened as the IDE's
 * first tabs on a browser's first visit.
 */
export interface ExampleOperation {
  readonly query: string;
  readonly variables: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

export const EXAMPLE_OPERATIONS: readonly ExampleOperation[] = [
  {
    query: `mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    webhookEndpoint {
      id
      webhookId
      subscriber
      url
      apiKey
      retries
      createdAt
    }
  }
}
`,
    variables: json({ input: { url: "https://example.com/webhook", retries: 5 } }),
  },
  {
    query: `mutation CreateWebhookSubscription($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) {
    webhookSubscription {
      id
      subscriptionId
      webhookId
      type
      actions
      collectionId
      createdAt
    }
  }
}
`,
    variables: json({
      input: {
        type: "asset-link",
        actions: ["create", "delete"],
        collectionId: "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182",
        webhookId: "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0",
      },
    }),
  },
  {
    query: `query WebhookEndpoints($first: Float, $after: String) {
  webhookEndpoints(first: $first, after: $after) {
    edges {
      node {
        webhookId
        url
        retries
        createdAt
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
    total
  }
}
`,
    variables: json({ first: 20 }),
  },
  {
    query: `query WebhookEndpoint($webhookId: String!) {
  webhookEndpoint(webhookId: $webhookId) {
    id
    webhookId
    subscriber
    url
    apiKey
    retries
    createdAt
  }
}
`,
    variables: json({ webhookId: "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0" }),
  },
  {
    query: `query WebhookSubscriptions($webhookId: String!, $first: Float, $after: String) {
  webhookSubscriptions(webhookId: $webhookId, first: $first, after: $after) {
    edges {
      node {
        subscriptionId
        type
        actions
        collectionId
        createdAt
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
    total
  }
}
`,
    variables: json({ webhookId: "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0", first: 20 }),
  },
  {
    query: `query WebhookSubscription($subscriptionId: String!) {
  webhookSubscription(subscriptionId: $subscriptionId) {
    id
    subscriptionId
    webhookId
    type
    actions
    collectionId
    createdAt
  }
}
`,
    variables: json({ subscriptionId: "5b1f0f5e-8a63-4b8e-9f57-3f6d2f0c9a11" }),
  },
];

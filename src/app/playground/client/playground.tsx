import { useEditorContext } from "@graphiql/react";
import { GraphiQL, type GraphiQLProps } from "graphiql";
import { useEffect, useMemo, useRef } from "react";
import { EXAMPLE_OPERATIONS } from "./example-operations.js";
import type { PlaygroundSettings } from "./playground-settings.js";
import { createSessionStore } from "./session-store.js";
import { BearerTokenSync, signInPlugin } from "./sign-in-plugin.js";

/** GraphiQL on herald's API: the guide's operations as tabs, and the sign-in panel open. */
export function Playground({ settings }: { settings: PlaygroundSettings }) {
  const { fetcher, sessions, plugin } = useMemo(() => {
    const sessions = createSessionStore();
    return { fetcher: graphqlFetcher(settings.endpoint), sessions, plugin: signInPlugin(settings, sessions) };
  }, [settings]);
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={EXAMPLE_OPERATIONS.map((operation) => ({ ...operation }))}
      plugins={[plugin]}
      visiblePlugin={plugin}
      defaultEditorToolsVisibility="variables"
      // Tokens are bearer credentials: keep them out of localStorage.
      shouldPersistHeaders={false}
      showPersistHeadersSettings={false}
    >
      <GraphiQL.Logo>
        <span className="herald-logo">
          herald <BearerTokenSync sessions={sessions} />
          <FirstTabVariables />
        </span>
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

/**
 * GraphiQL 3.9 opens the first of `defaultTabs` with its query but with empty variables (its
 * initial editor state takes the first tab's query and nothing else): fill them in, once.
 */
function FirstTabVariables() {
  const { variableEditor, tabs, activeTabIndex } = useEditorContext({ nonNull: true });
  const filled = useRef(false);
  useEffect(() => {
    if (filled.current || !variableEditor) return;
    filled.current = true;
    const variables = tabs[activeTabIndex]?.variables;
    if (variables && variableEditor.getValue() === "") variableEditor.setValue(variables);
  }, [variableEditor, tabs, activeTabIndex]);
  return null;
}

/**
 * Plain POSTs of JSON, which is all herald's API speaks (no subscriptions over WebSocket), so the
 * page needs no GraphQL client library.
 */
function graphqlFetcher(endpoint: string): GraphiQLProps["fetcher"] {
  return async (params, options) => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        ...options?.headers,
        accept: "application/graphql-response+json, application/json",
        "content-type": "application/json",
      },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return {
        errors: [{ message: `herald answered ${response.status} ${response.statusText}: ${text.slice(0, 500)}` }],
      };
    }
  };
}

import "./console.css";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createRoot } from "react-dom/client";
import { ConsoleApp } from "./console-app.js";
import { SessionProvider } from "./console-session.js";
import { readConsoleSettings } from "./console-settings.js";
import { ApiError } from "./graphql-request.js";

const root = document.getElementById("console");
if (!root) throw new Error("the page has no #console");
const queries = new QueryClient({
  defaultOptions: {
    // A refusal (bad input, not found, forbidden) will not change on a retry; a network failure may.
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.code) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});
createRoot(root).render(
  <QueryClientProvider client={queries}>
    <SessionProvider settings={readConsoleSettings(document)}>
      <ConsoleApp />
    </SessionProvider>
  </QueryClientProvider>,
);

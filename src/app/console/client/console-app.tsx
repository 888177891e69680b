import { AuditPage } from "./audit-page.js";
import { hrefOf, useRoute } from "./console-route.js";
import { useSession } from "./console-session.js";
import { DeliveryPage } from "./delivery-page.js";
import { EndpointPage } from "./endpoint-page.js";
import { EndpointsPage } from "./endpoints-page.js";
import { RecoverPage } from "./recover-page.js";
import { SignInPage } from "./sign-in-page.js";

/** The signed-in frame (who, which role, sign out) around the page the URL's fragment names. */
export function ConsoleApp() {
  const { session, signOut } = useSession();
  const route = useRoute();
  if (!session) return <SignInPage />;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Console">
          <a className="brand" href={hrefOf({ page: "endpoints" })}>
            herald console
          </a>
          <a href={hrefOf({ page: "endpoints" })}>Endpoints</a>
        </nav>
        <div className="who" role="status" aria-label="Signed in">
          Signed in as <code title={session.address}>{session.address}</code>{" "}
          <span className={`role role-${session.role.toLowerCase()}`}>{session.role.toLowerCase()}</span>
        </div>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "endpoints" && <EndpointsPage />}
        {route.page === "endpoint" && <EndpointPage webhookId={route.webhookId} />}
        {route.page === "recover" && <RecoverPage webhookId={route.webhookId} />}
        {route.page === "audit" && <AuditPage webhookId={route.webhookId} />}
        {route.page === "delivery" && <DeliveryPage deliveryId={route.deliveryId} />}
      </main>
    </>
  );
}

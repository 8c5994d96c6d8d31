import { lazy, StrictMode, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { Root } from "./App";
import { I18nProvider } from "./i18n";
import { isPortalPath } from "./portal/session";

// The provider portal is a separate entry of the same build: …/console/portal (its own sign-in and layout).
const PortalRoot = lazy(() => import("./portal/PortalApp"));
const portal = isPortalPath(location.pathname, location.hash);
if (portal && !/\/console\/portal(\/|$)/.test(location.pathname)) {
  // Cognito came back to …/console/ for the portal: keep the token in the fragment, move to the portal.
  history.replaceState(null, "", new URL("portal/", document.baseURI).pathname + location.hash);
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <I18nProvider>
      {portal ? (
        <Suspense fallback={null}>
          <PortalRoot />
        </Suspense>
      ) : (
        <Root />
      )}
    </I18nProvider>
  </StrictMode>,
);

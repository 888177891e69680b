import "graphiql/style.css";
import "./playground.css";
import { createRoot } from "react-dom/client";
import { Playground } from "./playground.js";
import { readSettings } from "./playground-settings.js";

const root = document.getElementById("playground");
if (!root) throw new Error("the page has no #playground");
createRoot(root).render(<Playground settings={readSettings(document)} />);

// The studio's page: asks /api/session what was opened and shows the spec editor (a spec or
// a folder of specs) or the explorer (a run directory).
import * as api from "./api.js";
import {startSpecPage} from "./spec_page.js";
import {startExplorer} from "./explorer.js";

function fail(message) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.className = "status error";
}

async function main() {
  const {status, body} = await api.getSession();
  if (status !== 200) return fail(api.errorText(body));
  document.body.dataset.mode = body.mode;
  if (body.mode === "run") {
    document.getElementById("run-page").hidden = false;
    await startExplorer(body);
  } else {
    document.getElementById("spec-page").hidden = false;
    await startSpecPage(body);
  }
}

main().catch((err) => fail(`the page failed: ${err.message}`));

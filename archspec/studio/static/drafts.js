// Unsaved text kept in the browser (localStorage) until it is saved, so a reload, a closed tab
// or a crash loses nothing. A draft remembers the version it was based on, so saving it after
// the file changed on disk still goes through the conflict dialog.

const PREFIX = "archspec-studio-draft:";

const key = (path) => `${PREFIX}${path}`;

/** The draft of `path` ({text, baseVersion, savedAt}), or null. */
export function loadDraft(path) {
  try {
    const raw = localStorage.getItem(key(path));
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;  // storage disabled or a corrupt entry: behave as if there were none
  }
}

export function storeDraft(path, text, baseVersion) {
  try {
    localStorage.setItem(key(path), JSON.stringify({text, baseVersion, savedAt: Date.now()}));
    return true;
  } catch {
    return false;  // quota exceeded or storage disabled: the page says drafts are off
  }
}

export function dropDraft(path) {
  try {
    localStorage.removeItem(key(path));
  } catch {
    /* nothing stored, nothing to drop */
  }
}

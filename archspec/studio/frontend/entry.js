// What the studio's page imports from CodeMirror 6, and nothing more: one ES module, so the
// page loads one file (static/vendor/codemirror.js, built by build.mjs).
export {EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
        hoverTooltip} from "@codemirror/view";
export {EditorState, EditorSelection} from "@codemirror/state";
export {syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching, indentUnit} from "@codemirror/language";
export {yaml} from "@codemirror/lang-yaml";
export {lintGutter, setDiagnostics} from "@codemirror/lint";
export {autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap} from "@codemirror/autocomplete";
export {defaultKeymap, history, historyKeymap, indentWithTab} from "@codemirror/commands";

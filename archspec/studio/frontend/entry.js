// What the studio's page imports from CodeMirror 6: one ES module, so the page loads one file.
export {EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
        drawSelection, hoverTooltip, ViewPlugin, Decoration} from "@codemirror/view";
export {EditorState, StateEffect, StateField, EditorSelection} from "@codemirror/state";
export {syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching,
        foldGutter, indentUnit, syntaxTree} from "@codemirror/language";
export {yaml} from "@codemirror/lang-yaml";
export {linter, lintGutter, setDiagnostics, forceLinting, diagnosticCount} from "@codemirror/lint";
export {autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap,
        startCompletion} from "@codemirror/autocomplete";
export {defaultKeymap, history, historyKeymap, indentWithTab} from "@codemirror/commands";

// The slotfill demo: send the sentence to POST v1/parse and draw the answer.
//
// User text reaches the page only through text nodes (append / textContent), never as HTML, so a
// sentence cannot inject markup. The API counts offsets in Unicode code points (Python string
// indices), JavaScript strings in UTF-16 units; slicing Array.from(text) keeps an emoji before a
// slot from shifting its highlight.
"use strict";

const PALETTE_SIZE = 10; // .c0 ... .c9 in demo.css

const form = document.getElementById("parse-form");
const textInput = document.getElementById("text");
const button = document.getElementById("parse");
const keyRow = document.getElementById("key-row");
const keyInput = document.getElementById("api-key");
const errorBox = document.getElementById("error");
const result = document.getElementById("result");

/** The palette class of a slot label: a hash, so a label has the same colour on every visit. */
function colourClass(label) {
  let hash = 0x811c9dc5; // 32-bit FNV-1a
  for (const char of label) {
    hash = Math.imul(hash ^ char.codePointAt(0), 0x01000193) >>> 0;
  }
  return `c${hash % PALETTE_SIZE}`;
}

/** A new element with a class and, optionally, text (as a text node: never parsed as HTML). */
function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function confidence(value) {
  return element("span", "confidence", value.toFixed(2));
}

/** The sentence with each slot wrapped in a coloured mark captioned "label confidence". */
function sentenceWithSlots(text, slots) {
  const chars = Array.from(text); // one entry per code point, as the API counts
  const sentence = element("p", "sentence");
  let at = 0;
  for (const slot of [...slots].sort((a, b) => a.start - b.start)) {
    if (slot.start < at || slot.end <= slot.start || slot.end > chars.length) continue; // malformed
    sentence.append(chars.slice(at, slot.start).join(""));
    const mark = element("mark", `slot ${colourClass(slot.slot)}`);
    mark.dataset.slot = slot.slot;
    mark.title = `${slot.slot}: confidence ${slot.confidence.toFixed(3)}`;
    mark.append(
      element("span", "slot-value", chars.slice(slot.start, slot.end).join("")),
      element("span", "slot-label", `${slot.slot} ${slot.confidence.toFixed(2)}`),
    );
    sentence.append(mark);
    at = slot.end;
  }
  sentence.append(chars.slice(at).join(""));
  return sentence;
}

function showResult(body) {
  const parts = [sentenceWithSlots(body.text, body.slots)];
  if (body.slots.length === 0) parts.push(element("p", "none", "No slots found."));
  if (body.intent) {
    const intent = element("p", "intent", "Intent ");
    intent.append(element("span", "intent-name", body.intent.intent), " ", confidence(body.intent.confidence));
    parts.push(intent);
  }
  if (body.model) {
    const took = typeof body.took_ms === "number" ? ` · ${body.took_ms.toFixed(1)} ms` : "";
    parts.push(element("p", "meta", `Model ${body.model.id}, version ${body.model.version}${took}`));
  }
  result.replaceChildren(...parts);
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  result.replaceChildren(element("p", "placeholder", "No result."));
}

/** The API's own message from its error body, or the HTTP status when the body is not the API's. */
function errorMessage(response, body) {
  const message = body && body.error && body.error.message;
  return message || `The service answered ${response.status} ${response.statusText}`.trim();
}

async function parse() {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const key = keyInput.value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  errorBox.hidden = true;
  button.disabled = true;
  result.setAttribute("aria-busy", "true");
  try {
    let response;
    try {
      response = await fetch("v1/parse", {
        method: "POST",
        headers,
        body: JSON.stringify({ text: textInput.value }),
      });
    } catch (error) {
      showError(`Could not reach the service: ${error.message}`);
      return;
    }
    const body = await response.json().catch(() => null); // a proxy's HTML error page, say
    if (response.status === 401) {
      keyRow.hidden = false; // the operator set an API key: ask for it, send it on the next try
      keyInput.focus();
      showError(`${errorMessage(response, body)}. Enter the API key and press Parse again.`);
    } else if (!response.ok) {
      showError(errorMessage(response, body));
    } else if (body === null) {
      showError("The service answered with something that is not JSON.");
    } else {
      showResult(body);
    }
  } finally {
    button.disabled = false;
    result.removeAttribute("aria-busy");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault(); // Enter in either field submits too
  parse();
});

"""The mouth locator: finds the mouth on frames that come without keypoints.

- :mod:`.faces`: `locate_footage`, real faces by the landmark model, else the parser;
- :mod:`.landmarks`: `LandmarkModel`, dlib's face detector and 68 landmarks, mapped to 25;
- :mod:`.repeats`: identical frames get identical keypoints;
- :mod:`.locate`: `locate_mouths`, the track of mouth keypoints over a shot;
- :mod:`.search`: `MouthFinder`, the face parser's search for the mouth in a frame;
- :mod:`.shape`: `mouth_keypoints`, the 25-point topology from a parsed mouth.
"""

LOCATORS = ("auto", "faces", "parser")
"""How plain footage's mouth is found (`faces.locate_footage`): auto (a real face by the
landmark model when one is found, else the face parser), faces (the landmark model only),
parser (the face parser only: rendered or drawn characters, which the landmark model may
take for real faces)."""
